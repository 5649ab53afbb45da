package psm_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/batos-dev/batos/psm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deltaSrc is a method whose dry run sends epsilon, which the mind does
// not have yet: a cycle for delta starts one nested in it for epsilon.
const deltaSrc = `package m

import "batos"

// delta needs epsilon.
func delta(self batos.Self, args []any) (any, error) {
	return self.Send("epsilon")
}`

// pruneModel writes answerSrc for any selector but "broken" (no code)
// and "delta" (deltaSrc).
func pruneModel() *selectorModel {
	return &selectorModel{src: func(sel string) string {
		switch sel {
		case "broken", "broken2":
			return "no code today"
		case "delta":
			return deltaSrc
		}
		return answerSrc(sel)
	}}
}

func pruneMind(t *testing.T, opts func(*psm.Options)) *psm.Mind {
	t.Helper()
	return memMind(t, pruneModel(), func(o *psm.Options) {
		o.MaxAttempts = 1
		o.ReuseThreshold = -1
		if opts != nil {
			opts(o)
		}
	})
}

// idsOf returns the ids of the records of the cycles for the selectors.
func idsOf(t *testing.T, m *psm.Mind, sels ...string) []string {
	t.Helper()
	recs, err := m.Cycles(ctx)
	require.NoError(t, err)
	var out []string
	for _, r := range recs {
		if slices.Contains(sels, r.Mission.Selector) {
			out = append(out, r.ID)
		}
	}
	slices.Sort(out)
	return out
}

// MaxRecords keeps the newest records: it never prunes a newer record
// and keeps an older one for the count. The newest cycle here holds a
// nested one, and nothing needs either (a person replaced both methods);
// the older, failed cycle must go first.
func TestPruneByCountKeepsTheNewest(t *testing.T) {
	m := pruneMind(t, nil)
	_, err := m.Send(ctx, m.Genesis(), "broken")
	require.ErrorIs(t, err, psm.ErrCycleFailed)
	_, err = m.Send(ctx, m.Genesis(), "delta")
	require.NoError(t, err)
	for _, sel := range []string{"delta", "epsilon"} {
		_, err = m.Install(ctx, m.Genesis(), sel, answerSrc(sel))
		require.NoError(t, err)
	}
	older := idsOf(t, m, "broken")
	newest := idsOf(t, m, "delta", "epsilon")
	require.Len(t, older, 1)
	require.Len(t, newest, 2)

	for _, n := range []int{1, 2} {
		rep, err := m.Prune(ctx, psm.PruneOptions{MaxRecords: n, DryRun: true})
		require.NoError(t, err)
		assert.Equal(t, older, rep.Pruned, "MaxRecords %d: the older record goes, the newest cycle (with the one nested in it) stays", n)
	}
	rep, err := m.Prune(ctx, psm.PruneOptions{MaxRecords: 1})
	require.NoError(t, err)
	assert.Equal(t, older, rep.Pruned)
	assert.Equal(t, newest, recordIDs(t, m))
}

// Negative limits are a mistake the caller hears about, as an error
// wrapping ErrPruneOptions: they are not taken for "no limit", nor for
// zero options (which would apply Options.Retention instead).
func TestPruneRefusesNegativeLimits(t *testing.T) {
	m := pruneMind(t, func(o *psm.Options) { o.Retention = psm.PruneOptions{MaxRecords: 5} })
	_, err := m.Send(ctx, m.Genesis(), "broken")
	require.ErrorIs(t, err, psm.ErrCycleFailed)
	before := recordIDs(t, m)
	for _, opts := range []psm.PruneOptions{
		{MaxRecords: -1},
		{MaxAge: -time.Hour},
		{MaxAge: time.Nanosecond, MaxRecords: -1},
		{MaxAge: -1, DryRun: true},
	} {
		rep, err := m.Prune(ctx, opts)
		require.ErrorIs(t, err, psm.ErrPruneOptions, "%+v", opts)
		assert.Empty(t, rep.Pruned)
	}
	assert.Equal(t, before, recordIDs(t, m), "nothing pruned")

	_, err = psm.Open(ctx, "", psm.Options{Model: pruneModel(), InMemory: true, Retention: psm.PruneOptions{MaxRecords: -3}})
	require.ErrorIs(t, err, psm.ErrPruneOptions, "Open checks Options.Retention")
}

// A cancelled context prunes nothing and says why.
func TestPruneCancelled(t *testing.T) {
	m := pruneMind(t, nil)
	_, err := m.Send(ctx, m.Genesis(), "broken")
	require.ErrorIs(t, err, psm.ErrCycleFailed)
	before := recordIDs(t, m)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	rep, err := m.Prune(cctx, psm.PruneOptions{MaxAge: time.Nanosecond})
	require.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, rep.Pruned)
	assert.Equal(t, before, recordIDs(t, m))
}
