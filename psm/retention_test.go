package psm_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// retentionMind runs cycles of every kind a pruning must tell apart and
// returns the mind with the ids of their records:
//
//	superseded  installed "alpha" v1, which a person's install replaced
//	current     installed "beta", still current
//	failed      failed ("broken": no usable source)
//	parked      awaits approval ("gamma" on an object under GenerateApprove)
//	outer/inner "delta", whose dry run started the nested cycle "epsilon"
func retentionMind(t *testing.T, opts func(*psm.Options)) (*psm.Mind, map[string]string) {
	t.Helper()
	model := &selectorModel{src: func(sel string) string {
		switch sel {
		case "broken":
			return "no code today"
		case "delta":
			return `package m

import "batos"

// delta needs epsilon.
func delta(self batos.Self, args []any) (any, error) {
	return self.Send("epsilon")
}`
		}
		return answerSrc(sel)
	}}
	m := memMind(t, model, func(o *psm.Options) {
		o.MaxAttempts = 1
		o.ReuseThreshold = -1
		if opts != nil {
			opts(o)
		}
	})
	ids := map[string]string{}
	last := func(name string) {
		recs, err := m.Cycles(ctx)
		require.NoError(t, err)
		slices.SortFunc(recs, func(a, b psm.Record) int { return a.Started.Compare(b.Started) })
		ids[name] = recs[len(recs)-1].ID
	}
	_, err := m.Send(ctx, m.Genesis(), "alpha")
	require.NoError(t, err)
	last("superseded")
	_, err = m.Install(ctx, m.Genesis(), "alpha", answerSrc("alpha"))
	require.NoError(t, err)
	_, err = m.Send(ctx, m.Genesis(), "beta")
	require.NoError(t, err)
	last("current")
	_, err = m.Send(ctx, m.Genesis(), "broken")
	require.ErrorIs(t, err, psm.ErrCycleFailed)
	last("failed")
	strict, err := m.New(ctx)
	require.NoError(t, err)
	require.NoError(t, m.SetPolicy(ctx, strict, psm.Policy{Generation: psm.GenerateApprove}))
	_, err = m.Send(ctx, strict, "gamma")
	require.ErrorIs(t, err, psm.ErrAwaitingApproval)
	last("parked")
	_, err = m.Send(ctx, m.Genesis(), "delta")
	require.NoError(t, err)
	recs, err := m.Cycles(ctx)
	require.NoError(t, err)
	for _, r := range recs {
		switch r.Mission.Selector {
		case "delta":
			ids["outer"] = r.ID
		case "epsilon":
			ids["inner"] = r.ID
		}
	}
	require.Len(t, recs, 6)
	return m, ids
}

func recordIDs(t *testing.T, m *psm.Mind) []string {
	t.Helper()
	recs, err := m.Cycles(ctx)
	require.NoError(t, err)
	var out []string
	for _, r := range recs {
		out = append(out, r.ID)
	}
	slices.Sort(out)
	return out
}

// Pruning by age or count removes the records no one needs any more and
// keeps those of running and parked cycles, of current method versions,
// and the cycles nested in them.
func TestPruneKeepsWhatIsNeeded(t *testing.T) {
	m, ids := retentionMind(t, nil)
	// A person replaces epsilon: the nested cycle's version is no longer
	// current, but it stays with the outer cycle's.
	_, err := m.Install(ctx, m.Genesis(), "epsilon", answerSrc("epsilon"))
	require.NoError(t, err)
	all := recordIDs(t, m)
	prunable := []string{ids["superseded"], ids["failed"]}
	slices.Sort(prunable)

	dry, err := m.Prune(ctx, psm.PruneOptions{MaxAge: time.Nanosecond, DryRun: true})
	require.NoError(t, err)
	got := slices.Clone(dry.Pruned)
	slices.Sort(got)
	require.Equal(t, prunable, got, "what a dry run would prune")
	require.Equal(t, all, recordIDs(t, m), "a dry run removes nothing")

	rep, err := m.Prune(ctx, psm.PruneOptions{MaxAge: time.Nanosecond})
	require.NoError(t, err)
	assert.Equal(t, 6, rep.Examined)
	got = slices.Clone(rep.Pruned)
	slices.Sort(got)
	assert.Equal(t, prunable, got, "pruned")
	assert.Equal(t, 2, rep.Kept[psm.KeptCurrent], "kept: current versions (beta, delta)")
	assert.Equal(t, 1, rep.Kept[psm.KeptAwaiting], "kept: the parked cycle")
	assert.Equal(t, 1, rep.Kept[psm.KeptWithRelatives], "kept: the cycle nested in delta's")
	left := recordIDs(t, m)
	for _, id := range prunable {
		assert.NotContains(t, left, id)
	}
	for _, name := range []string{"current", "parked", "outer", "inner"} {
		assert.Contains(t, left, ids[name], name)
	}

	// What the kept records serve still works.
	pending, err := m.Pending(ctx)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	assert.Equal(t, ids["parked"], pending[0].CycleID)
	hist, err := m.History(ctx, m.Genesis(), "alpha")
	require.NoError(t, err)
	require.Len(t, hist, 2)
	assert.NotEmpty(t, hist[0].Model, "v1's note keeps its model without the record")
	replay, err := m.Replay(ctx, ids["outer"])
	require.NoError(t, err)
	assert.Len(t, replay.Recorded, 2, "the outer cycle with the one nested in it")

	again, err := m.Prune(ctx, psm.PruneOptions{MaxAge: time.Nanosecond})
	require.NoError(t, err)
	assert.Empty(t, again.Pruned, "nothing more to prune")
}

// MaxRecords keeps the newest records; the older ones go unless needed.
func TestPruneByCount(t *testing.T) {
	m, ids := retentionMind(t, nil)
	// The newest three records: delta's tree and the parked cycle. Of
	// the older ones, beta's cycle installed a current version.
	rep, err := m.Prune(ctx, psm.PruneOptions{MaxRecords: 3})
	require.NoError(t, err)
	got := slices.Clone(rep.Pruned)
	slices.Sort(got)
	want := []string{ids["superseded"], ids["failed"]}
	slices.Sort(want)
	assert.Equal(t, want, got)
	assert.Equal(t, map[string]int{psm.KeptCurrent: 1}, rep.Kept)
}

// Options.Retention is what Open and a Prune with zero options apply.
func TestRetentionOption(t *testing.T) {
	m, ids := retentionMind(t, func(o *psm.Options) { o.Retention = psm.PruneOptions{MaxAge: time.Nanosecond} })
	rep, err := m.Prune(ctx, psm.PruneOptions{})
	require.NoError(t, err)
	assert.Len(t, rep.Pruned, 2)
	assert.NotContains(t, recordIDs(t, m), ids["failed"])
}

// A record that an older version's history still reads is kept.
func TestPruneKeepsWhatHistoryReads(t *testing.T) {
	m, ids := retentionMind(t, nil)
	// An image from before version notes: alpha v1 has none.
	require.NoError(t, m.Image().Update(ctx, func(tx *uvm.Tx) error {
		var keys []string
		if err := tx.ScanRecords("psm.versions", "", func(key string, _ []byte) error {
			keys = append(keys, key)
			return nil
		}); err != nil {
			return err
		}
		for _, k := range keys {
			if parts := strings.Split(k, "/"); len(parts) == 3 && parts[1] == "alpha" && strings.TrimLeft(parts[2], "0") == "1" {
				if err := tx.DeleteRecord("psm.versions", k); err != nil {
					return err
				}
			}
		}
		return nil
	}))
	rep, err := m.Prune(ctx, psm.PruneOptions{MaxAge: time.Nanosecond})
	require.NoError(t, err)
	assert.NotContains(t, rep.Pruned, ids["superseded"])
	assert.Equal(t, 1, rep.Kept[psm.KeptHistory])
	hist, err := m.History(ctx, m.Genesis(), "alpha")
	require.NoError(t, err)
	assert.NotEmpty(t, hist[0].Model, "v1's model, from its record")
}

// Open prunes with Options.Retention.
func TestOpenPrunes(t *testing.T) {
	dir := t.TempDir()
	model := &selectorModel{src: func(string) string { return "no code today" }}
	m, err := psm.Open(ctx, dir, psm.Options{Model: model, MaxAttempts: 1})
	require.NoError(t, err)
	_, err = m.Send(ctx, m.Genesis(), "broken")
	require.ErrorIs(t, err, psm.ErrCycleFailed)
	require.Len(t, recordIDs(t, m), 1)
	require.NoError(t, m.Close())

	m, err = psm.Open(ctx, dir, psm.Options{Model: model, Retention: psm.PruneOptions{MaxAge: time.Nanosecond}})
	require.NoError(t, err)
	defer closeWithin(t, m, 10*time.Second)
	require.Empty(t, recordIDs(t, m), "the failed cycle's record, pruned at open")
}

// Every record Prune examines is counted once: pruned, within the
// limits, or kept for a reason.
func TestPruneReportAddsUp(t *testing.T) {
	m, _ := retentionMind(t, nil)
	for _, opts := range []psm.PruneOptions{
		{MaxAge: time.Hour, DryRun: true},
		{MaxRecords: 1, DryRun: true},
		{MaxRecords: 3, DryRun: true},
		{MaxAge: time.Nanosecond, DryRun: true},
		{MaxAge: time.Nanosecond},
	} {
		rep, err := m.Prune(ctx, opts)
		require.NoError(t, err)
		kept := 0
		for _, n := range rep.Kept {
			kept += n
		}
		assert.Equal(t, rep.Examined, len(rep.Pruned)+rep.Within+kept, "%+v: %+v", opts, rep)
		if opts.MaxAge == time.Hour {
			assert.Equal(t, rep.Examined, rep.Within, "nothing ended an hour ago")
		}
		if opts.MaxRecords > 0 {
			assert.GreaterOrEqual(t, rep.Within, opts.MaxRecords)
		}
	}
}
