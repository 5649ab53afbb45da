package psm_test

// Arguments of a message that starts a cycle, through the public API only.

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/require"
)

// Arguments: a non-finite float is storable and its cycle's record is
// written (JSON cannot hold NaN); a value the image cannot store is
// refused with a typed error before any cycle starts, and nothing changes.
func TestUnusualArguments(t *testing.T) {
	cases := []struct {
		name       string
		arg        any
		unstorable bool
		recorded   any // the argument as the record holds it
	}{
		{name: "NaN", arg: math.NaN(), recorded: "NaN"},
		{name: "+Inf", arg: math.Inf(1), recorded: "+Inf"},
		{name: "NaN in a list", arg: []any{1, math.NaN()}, recorded: []any{int64(1), "NaN"}}, // numbers keep their type in records
		{name: "channel", arg: make(chan int), unstorable: true},
		{name: "func", arg: func() {}, unstorable: true},
		{name: "struct", arg: struct{ A int }{1}, unstorable: true},
		{name: "channel in a map", arg: map[string]any{"c": make(chan int)}, unstorable: true},
		{name: "func in a list", arg: []any{"ok", func() {}}, unstorable: true},
	}
	// One mind for all cases (workers are slow to start under -race); each
	// case sends its own selector, and only storable ones reach a model.
	sel := func(i int) string { return fmt.Sprintf("greet_%d", i) }
	var replies []persona.Reply
	for i, tc := range cases {
		if !tc.unstorable {
			replies = append(replies, plan("greeting"), persona.Reply{
				Persona: "ALFRED", Expect: fmt.Sprintf("%q", sel(i)), Text: code(strings.ReplaceAll(greetSrc, "greet", sel(i))),
			})
		}
	}
	script := persona.NewScripted(replies)
	m := memMind(t, script, func(o *psm.Options) {
		o.MaxAttempts = 1
		o.Live.Policy = psm.PolicyInProcess // the dry run is isolated all the same
	})
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := unchanged(t, m)
			fp, err := m.Image().Fingerprint(ctx)
			require.NoError(t, err)
			recsBefore, err := m.Cycles(ctx)
			require.NoError(t, err)
			remaining := script.Remaining()
			var r sendResult
			within(t, 20*time.Second, "send", func() {
				defer func() {
					if p := recover(); p != nil {
						r.err = fmt.Errorf("Send panicked: %v", p)
					}
				}()
				r.v, r.err = m.Send(ctx, m.Genesis(), sel(i), tc.arg)
			})
			recs, err := m.Cycles(ctx)
			require.NoError(t, err, "the records stay readable")
			if tc.unstorable {
				require.ErrorIs(t, r.err, uvm.ErrUnstorable)
				var ve *uvm.ValueError
				require.ErrorAs(t, r.err, &ve)
				require.Nil(t, r.v)
				require.Len(t, recs, len(recsBefore), "no cycle starts for an argument the image refuses")
				require.Equal(t, remaining, script.Remaining(), "no model was asked")
				after, err := m.Image().Fingerprint(ctx)
				require.NoError(t, err)
				require.Equal(t, fp, after, "nothing changed, records included")
				return
			}
			require.NoError(t, r.err)
			require.Equal(t, "hello, architect", r.v)
			require.Len(t, recs, len(recsBefore)+1)
			j := slices.IndexFunc(recs, func(r psm.Record) bool { return r.Mission.Selector == sel(i) })
			require.GreaterOrEqual(t, j, 0, "a record of the cycle for %s", sel(i))
			rec := recs[j]
			require.Equal(t, psm.Complete, rec.Outcome)
			require.Equal(t, []any{tc.recorded}, rec.Mission.Args)
			require.NotEqual(t, before, unchanged(t, m), "the method was installed")
		})
	}
}
