package live_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live"
)

// runaways are loops that never end and that the guardian admits: the
// tightest the instrumentation meters, and two with a little work.
var runaways = map[string]string{
	"empty":      "for {\n\t\tif len(args) > 99 {\n\t\t\tbreak\n\t\t}\n\t}\n\treturn nil, nil",
	"sum":        "n := 0\n\tfor i := 0; i >= 0; i++ {\n\t\tn += i\n\t}\n\treturn n, nil",
	"arithmetic": "x := 1\n\tfor x != 0 {\n\t\tx = (x*7+3)%1000003 + 1\n\t}\n\treturn x, nil",
}

// spin installs body as the method spin on a new object of an in-memory
// image run by a new Runner with opts.
func spin(t testing.TB, opts live.Options, body string) (*uvm.Image, uvm.OID) {
	t.Helper()
	im, r := newImage(t, opts)
	return im, installNew(t, im, r, uvm.Method{Selector: "spin", Source: methodSource("spin", body)})
}

// TestDefaultFuelStopsRunaway: with the default options a loop that cannot
// finish runs out of fuel, not of time (the time budget would take ten
// seconds per attempt), in both places a method runs.
func TestDefaultFuelStopsRunaway(t *testing.T) {
	for _, policy := range policies {
		for name, body := range runaways {
			t.Run(policy+"/"+name, func(t *testing.T) {
				im, oid := spin(t, live.Options{Policy: policy, Workers: 1}, body)
				_, err := im.Send(ctx, oid, "spin")
				var be *live.BudgetError
				require.ErrorAs(t, err, &be)
				assert.Equal(t, "fuel", be.Resource, "got %v", err)
				assert.Equal(t, live.DefaultOptions().Fuel, be.Limit)
			})
		}
	}
}

// BenchmarkFuelRate measures how fast instrumented loops spend fuel in the
// interpreter (Msteps/s) and so how long the default fuel lasts on each
// (fuel-ms): a loop that cannot finish should be stopped by fuel in well
// under a second, long before the time budget.
func BenchmarkFuelRate(b *testing.B) {
	const fuel = 2_000_000
	for _, name := range []string{"empty", "sum", "arithmetic"} {
		b.Run(name, func(b *testing.B) {
			im, oid := spin(b, live.Options{Policy: live.PolicyInProcess, Fuel: fuel}, runaways[name])
			_, err := im.Send(ctx, oid, "spin") // compile
			require.ErrorIs(b, err, live.ErrBudget)
			b.ResetTimer()
			start := time.Now()
			for b.Loop() {
				_, err := im.Send(ctx, oid, "spin")
				require.ErrorIs(b, err, live.ErrBudget)
			}
			per := time.Since(start) / time.Duration(b.N)
			b.ReportMetric(fuel/per.Seconds()/1e6, "Msteps/s")
			b.ReportMetric(float64(live.DefaultOptions().Fuel)/(fuel/per.Seconds())*1000, "fuel-ms")
		})
	}
}
