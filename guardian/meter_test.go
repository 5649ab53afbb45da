package guardian_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/batos-dev/batos/guardian"
)

// TestMeterFindings checks where instrument.meter findings point and what
// they say: a model must be able to find the reference and learn why it
// has to go.
func TestMeterFindings(t *testing.T) {
	const head = "package method\n\nimport \"batos\"\n\nfunc m(self batos.Self, args []any) (any, error) {\n"
	for _, tc := range []struct {
		name string
		src  string
		want []string // "line:col: text the message contains"
	}{
		{
			name: "enter and refill",
			src:  head + "\tm := batos.Enter(self)\n\tm.Fuel = 1 << 40\n\tfor {\n\t}\n}\n",
			want: []string{
				"6:7: methods may not use the instrumentation API (batos.Enter): the guardian adds metering itself",
				"7:4: methods may not use the instrumentation API (Fuel of a batos.Meter)",
			},
		},
		{
			name: "chained",
			src:  head + "\tbatos.Enter(self).Alloc(1)\n\treturn nil, nil\n}\n",
			want: []string{"6:2: (batos.Enter)", "6:20: (Alloc of a batos.Meter)"},
		},
		{
			name: "meter type",
			src:  head + "\tvar x any = args[0]\n\t_, ok := x.(*batos.Meter)\n\treturn ok, nil\n}\n",
			want: []string{"7:15: (batos.Meter)"},
		},
		{
			name: "parenthesised package",
			src:  head + "\treturn (batos).Enter(self), nil\n}\n",
			want: []string{"6:9: ((batos).Enter, that is batos.Enter)"},
		},
		{
			name: "alias",
			src:  "package method\n\nimport b \"batos\"\n\nfunc m(self b.Self, args []any) (any, error) {\n\treturn b.Meter{}, nil\n}\n",
			want: []string{"6:9: (b.Meter, that is batos.Meter)"},
		},
		{
			name: "dot import",
			src:  "package method\n\nimport . \"batos\"\n\nfunc m(self Self, args []any) (any, error) {\n\treturn Enter(self), nil\n}\n",
			want: []string{"6:9: (Enter, that is batos.Enter through the dot import)"},
		},
		{
			name: "parameter of a helper",
			src:  head + "\treturn nil, nil\n}\n\nfunc h(n int, mt *batos.Meter) {\n\tmt.Leave()\n}\n",
			want: []string{"9:19: (batos.Meter)", "10:5: (Leave of a batos.Meter)"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := guardian.Audit([]byte(tc.src), "m", guardian.Options{})
			var rej *guardian.Rejection
			require.ErrorAs(t, err, &rej, "got %v, want a rejection", err)
			var got []string
			for _, f := range rej.Findings {
				if f.Rule == guardian.RuleMeter {
					got = append(got, fmt.Sprintf("%d:%d: %s", f.Pos.Line, f.Pos.Column, f.Message))
				}
			}
			require.Len(t, got, len(tc.want), "got %s findings\n%s", guardian.RuleMeter, strings.Join(got, "\n"))
			for i, w := range tc.want {
				pos, text, _ := strings.Cut(w, ": ")
				assert.True(t, strings.HasPrefix(got[i], pos+": "), "got %q, want %s", got[i], pos)
				assert.Contains(t, got[i], text, "got %q, want %s with %q", got[i], pos, text)
			}
		})
	}
}

// TestMeterInstrumentedOutput checks that the guardian's own uses of the
// instrumentation API in its output are not held against it: instrumented
// output audits to itself, while a model's own batos.Enter beside them is
// refused.
func TestMeterInstrumentedOutput(t *testing.T) {
	src := []byte(`package method

import "batos"

func loop(self batos.Self, args []any) (any, error) {
	n := 0
	for i := 0; i < 3; i++ {
		n += count(i)
	}
	return n, nil
}

func count(k int) int {
	s := 0
	for j := 0; j < k; j++ {
		s++
	}
	return s
}
`)
	rep, err := guardian.Audit(src, "loop", guardian.Options{})
	require.NoError(t, err)
	for _, w := range []string{"__meter := batos.Enter(self)", "func count(__meter *batos.Meter, k int) int {"} {
		require.Contains(t, string(rep.Source), w, "instrumented source lacks %q", w)
	}
	_, err = guardian.Audit(rep.Source, "loop", guardian.Options{})
	require.NoError(t, err, "auditing the instrumented source, want it accepted")
	forged := strings.Replace(string(rep.Source), "\tn := 0\n", "\tn := 0\n\tbatos.Enter(self).Fuel = 1 << 40\n", 1)
	_, err = guardian.Audit([]byte(forged), "loop", guardian.Options{})
	require.True(t, hasRule(err, guardian.RuleMeter), "got %v, want %s", err, guardian.RuleMeter)
}
