package psm_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wordsSrc is a method for sel that counts the words of its argument.
func wordsSrc(sel string) string {
	return fmt.Sprintf(`package m

import (
	"strings"

	"batos"
)

// %[1]s counts the words of its first argument.
func %[1]s(self batos.Self, args []any) (any, error) {
	s, _ := args[0].(string)
	return int64(len(strings.Fields(s))), nil
}`, sel)
}

// lastCycle returns the record of the latest cycle for sel on oid.
func lastCycle(t *testing.T, m *psm.Mind, oid uvm.OID, sel string) psm.Record {
	t.Helper()
	recs, err := m.Cycles(ctx)
	require.NoError(t, err)
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].Mission.Target == oid && recs[i].Mission.Selector == sel {
			return recs[i]
		}
	}
	require.FailNowf(t, "no cycle", "no cycle for %s on object %d", sel, oid)
	return psm.Record{}
}

// A mission that a method installed elsewhere already answers reuses it
// instead of asking the model for new code: a copy when the receiver
// cannot reach it, a delegation when it inherits it.
func TestReuseBeforeRegenerate(t *testing.T) {
	cases := []struct {
		name      string
		threshold float64
		// first is where count_words is written; then sel is sent to a
		// receiver made from first.
		receiver func(t *testing.T, m *psm.Mind, first uvm.OID) uvm.OID
		sel      string
		how      string
	}{
		{
			name: "same selector, another object: a copy", sel: "count_words", how: psm.ReuseCopy,
			receiver: func(t *testing.T, m *psm.Mind, first uvm.OID) uvm.OID {
				oid, err := m.New(ctx)
				require.NoError(t, err)
				return oid
			},
		},
		{
			name: "similar selector, inherited: a delegation", sel: "word_count", how: psm.ReuseDelegate, threshold: 0.7,
			receiver: func(t *testing.T, m *psm.Mind, first uvm.OID) uvm.OID {
				oid, err := m.New(ctx, first)
				require.NoError(t, err)
				return oid
			},
		},
		{
			name: "similar selector, another object: a renamed copy", sel: "word_count", how: psm.ReuseCopy, threshold: 0.7,
			receiver: func(t *testing.T, m *psm.Mind, first uvm.OID) uvm.OID {
				oid, err := m.New(ctx)
				require.NoError(t, err)
				return oid
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			model := &selectorModel{src: wordsSrc}
			m := memMind(t, model, func(o *psm.Options) { o.ReuseThreshold = tc.threshold })
			var mu sync.Mutex
			var avoided []int // per COMPLETE outcome a subscriber saw
			m.Subscribe(func(e psm.Event) {
				if e.Kind == psm.EventOutcome && e.State == psm.Complete {
					mu.Lock()
					avoided = append(avoided, e.ModelCallsAvoided)
					mu.Unlock()
				}
			})
			first, err := m.New(ctx)
			require.NoError(t, err)
			v, err := m.Send(ctx, first, "count_words", "one two three")
			require.NoError(t, err)
			require.Equal(t, int64(3), v)
			require.Equal(t, int64(2), model.calls.Load(), "model calls of the first cycle: plan and synthesis")

			to := tc.receiver(t, m, first)
			v, err = m.SendWith(ctx, to, tc.sel, []any{"a b c d"}, psm.WithExamples(psm.Example{Args: []any{"x y"}, Want: int64(2)}))
			require.NoError(t, err)
			require.Equal(t, int64(4), v)
			require.Equal(t, int64(3), model.calls.Load(), "model calls: the second cycle asked for its plan only")

			rec := lastCycle(t, m, to, tc.sel)
			require.Equal(t, psm.Complete, rec.Outcome)
			require.NotNil(t, rec.Reused, "the record says what was reused")
			assert.Equal(t, first, rec.Reused.Object)
			assert.Equal(t, "count_words", rec.Reused.Selector)
			assert.Equal(t, 1, rec.Reused.Version)
			assert.Equal(t, tc.how, rec.Reused.How)
			assert.Equal(t, 1, rec.ModelCallsAvoided)
			mu.Lock()
			assert.Equal(t, []int{0, 1}, avoided, "the outcome events count the model calls avoided too")
			mu.Unlock()
			assert.Zero(t, rec.Attempts, "no synthesis attempt")
			var notes []string
			for _, e := range rec.Events {
				notes = append(notes, e.Text)
			}
			assert.Contains(t, strings.Join(notes, "\n"), fmt.Sprintf("reused count_words v1 from object %d", first))

			hist, err := m.History(ctx, to, tc.sel)
			require.NoError(t, err)
			require.Len(t, hist, 1)
			assert.Contains(t, hist[0].Why, "reused count_words v1", "the version's history")
			assert.Empty(t, hist[0].Model, "no model wrote it")
			if tc.how == psm.ReuseDelegate {
				assert.Contains(t, hist[0].Source, `self.Send("count_words", args...)`)
			} else {
				assert.Contains(t, hist[0].Source, "func "+tc.sel+"(self batos.Self")
			}

			replay, err := m.Replay(ctx, rec.ID)
			require.NoError(t, err)
			require.NoError(t, replay.Err)
			assert.True(t, replay.Same(), "a replay reuses the same method: %v", replay.Differences)
		})
	}
}

// A similar method that fails the mission's examples is not reused: the
// cycle asks the model, with its attempts intact.
func TestReuseRejectedByExamples(t *testing.T) {
	written := 0
	model := &selectorModel{src: func(sel string) string {
		if written++; written == 1 {
			return wordsSrc(sel)
		}
		return fmt.Sprintf(`package m

import "batos"

// %[1]s counts its arguments.
func %[1]s(self batos.Self, args []any) (any, error) {
	return int64(len(args)), nil
}`, sel)
	}}
	m := memMind(t, model, func(o *psm.Options) { o.MaxAttempts = 1 })
	first, err := m.New(ctx)
	require.NoError(t, err)
	_, err = m.Send(ctx, first, "count_words", "one two three")
	require.NoError(t, err)
	other, err := m.New(ctx)
	require.NoError(t, err)
	// Same selector, another meaning here: the examples say so.
	v, err := m.SendWith(ctx, other, "count_words", []any{"a b", "c"}, psm.WithExamples(psm.Example{Args: []any{"x", "y", "z"}, Want: int64(3)}))
	require.NoError(t, err)
	require.Equal(t, int64(2), v)
	require.Equal(t, int64(4), model.calls.Load(), "the second cycle asked for its plan and its method")
	rec := lastCycle(t, m, other, "count_words")
	require.Equal(t, psm.Complete, rec.Outcome)
	require.Nil(t, rec.Reused)
	require.Zero(t, rec.ModelCallsAvoided)
	require.Equal(t, 1, rec.Attempts, "the failed reuse took no attempt of the model's")
	var notes []string
	for _, e := range rec.Events {
		notes = append(notes, e.Text)
	}
	require.Contains(t, strings.Join(notes, "\n"), "not reused: count_words v1")
}

// A negative ReuseThreshold turns reuse off.
func TestReuseOff(t *testing.T) {
	model := &selectorModel{src: wordsSrc}
	m := memMind(t, model, func(o *psm.Options) { o.ReuseThreshold = -1 })
	for range 2 {
		oid, err := m.New(ctx)
		require.NoError(t, err)
		_, err = m.Send(ctx, oid, "count_words", "one two")
		require.NoError(t, err)
	}
	require.Equal(t, int64(4), model.calls.Load(), "two cycles, each with its plan and synthesis")
}
