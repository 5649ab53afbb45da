package psm_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
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

// pruneModel writes answerSrc for any selector but those beginning
// "broken" (no code) and "delta" (deltaSrc).
func pruneModel() *selectorModel {
	return &selectorModel{src: func(sel string) string {
		switch {
		case strings.HasPrefix(sel, "broken"):
			return "no code today"
		case sel == "delta":
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

// heldModel is pruneModel, but its synthesis for "slow" waits until
// release is closed (at most a few seconds), having closed started.
func heldModel(started, release chan struct{}) *selectorModel {
	base := pruneModel()
	return &selectorModel{src: func(sel string) string {
		if sel == "slow" {
			select {
			case <-started:
			default:
				close(started)
			}
			select {
			case <-release:
			case <-time.After(10 * time.Second):
			}
		}
		return base.src(sel)
	}}
}

// A prune while a cycle runs and others await approval keeps all three,
// and they end as they would have: the running cycle installs, one
// parked cycle is approved, the other rejected; a later prune then takes
// only the rejected one.
func TestPruneWhileCyclesRunAndWait(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	m := memMind(t, heldModel(started, release), func(o *psm.Options) {
		o.MaxAttempts = 1
		o.ReuseThreshold = -1
	})
	_, err := m.Send(ctx, m.Genesis(), "broken")
	require.ErrorIs(t, err, psm.ErrCycleFailed)
	strict, err := m.New(ctx)
	require.NoError(t, err)
	require.NoError(t, m.SetPolicy(ctx, strict, psm.Policy{Generation: psm.GenerateApprove}))
	for _, sel := range []string{"gamma", "zeta"} {
		_, err = m.Send(ctx, strict, sel)
		require.ErrorIs(t, err, psm.ErrAwaitingApproval)
	}
	broken, gamma, zeta := idsOf(t, m, "broken"), idsOf(t, m, "gamma"), idsOf(t, m, "zeta")
	slow := sendAsync(ctx, m, "slow")
	waitFor(t, 10*time.Second, "the slow cycle synthesizing", started)

	rep, err := m.Prune(ctx, psm.PruneOptions{MaxAge: time.Nanosecond})
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Kept[psm.KeptRunning], "the slow cycle")
	assert.Equal(t, 2, rep.Kept[psm.KeptAwaiting], "gamma and zeta")
	// The slow cycle, the newest, is within the count.
	rep, err = m.Prune(ctx, psm.PruneOptions{MaxRecords: 1})
	require.NoError(t, err)
	assert.Equal(t, map[string]int{psm.KeptAwaiting: 2}, rep.Kept)
	assert.Empty(t, idsOf(t, m, "broken"), "the failed cycle's record is pruned")
	assert.NotEmpty(t, broken)

	close(release)
	r := await(t, 20*time.Second, "the slow send", slow)
	require.NoError(t, r.err)
	assert.Equal(t, "slow", r.v)
	slowID := idsOf(t, m, "slow")
	require.Len(t, slowID, 1)
	rec, err := m.Cycle(ctx, slowID[0])
	require.NoError(t, err)
	assert.Equal(t, psm.Complete, rec.Outcome)

	v, err := m.Approve(ctx, gamma[0], psm.By("ada"))
	require.NoError(t, err)
	assert.Equal(t, gamma[0], v.CycleID)
	require.NoError(t, m.Reject(ctx, zeta[0], "not today", psm.By("ada")))
	pending, err := m.Pending(ctx)
	require.NoError(t, err)
	assert.Empty(t, pending)

	rep, err = m.Prune(ctx, psm.PruneOptions{MaxAge: time.Nanosecond})
	require.NoError(t, err)
	assert.Equal(t, zeta, rep.Pruned, "the rejected cycle goes; the approved one installed gamma's current version")
	assert.Equal(t, 2, rep.Kept[psm.KeptCurrent], "gamma and slow")
	hist, err := m.History(ctx, strict, "gamma")
	require.NoError(t, err)
	require.Len(t, hist, 1)
	assert.Equal(t, "ada", hist[0].ApprovedBy)
	_, err = m.Send(ctx, strict, "zeta")
	require.ErrorIs(t, err, psm.ErrAwaitingApproval, "a rejected, pruned cycle does not block a new one")
}

// Prunes racing cycles that start, install and fail never remove a
// record still needed, and never fail: every method a cycle installed
// still has the record of the cycle that installed it.
func TestPruneRacingCycles(t *testing.T) {
	m := pruneMind(t, nil)
	const n = 12
	done := make(chan struct{})
	errs := make(chan error, 1)
	go func() {
		defer close(errs)
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			opts := psm.PruneOptions{MaxAge: time.Nanosecond}
			if i%2 == 1 {
				opts = psm.PruneOptions{MaxRecords: 1}
			}
			if _, err := m.Prune(ctx, opts); err != nil {
				errs <- err
				return
			}
		}
	}()
	var sends []<-chan sendResult
	for i := range n {
		sel := "broken_" + benchSelector(i)
		if i%3 != 0 {
			sel = benchSelector(i)
		}
		sends = append(sends, sendAsync(ctx, m, sel))
	}
	for i, ch := range sends {
		r := await(t, 60*time.Second, "a send", ch)
		if i%3 == 0 {
			assert.ErrorIs(t, r.err, psm.ErrCycleFailed)
		} else {
			assert.NoError(t, r.err)
			assert.Equal(t, benchSelector(i), r.v)
		}
	}
	close(done)
	for err := range errs {
		require.NoError(t, err, "a prune racing cycles")
	}
	for i := range n {
		if i%3 == 0 {
			continue
		}
		hist, err := m.History(ctx, m.Genesis(), benchSelector(i))
		require.NoError(t, err)
		require.Len(t, hist, 1)
		rec, err := m.Cycle(ctx, hist[0].CycleID)
		require.NoError(t, err, "the record of the cycle that installed %s", benchSelector(i))
		assert.Equal(t, psm.Complete, rec.Outcome)
	}
	rep, err := m.Prune(ctx, psm.PruneOptions{MaxAge: time.Nanosecond})
	require.NoError(t, err)
	assert.Equal(t, 2*n/3, rep.Examined, "what is left: the installing cycles' records")
	assert.Equal(t, 2*n/3, rep.Kept[psm.KeptCurrent])
}

// After a restart, the retention Open applies keeps a cycle awaiting
// approval, which can still be approved, and prunes what is not needed.
func TestOpenPrunesKeepsParkedCycle(t *testing.T) {
	dir := t.TempDir()
	opts := psm.Options{Model: pruneModel(), MaxAttempts: 1, ReuseThreshold: -1}
	m, err := psm.Open(ctx, dir, opts)
	require.NoError(t, err)
	_, err = m.Send(ctx, m.Genesis(), "broken")
	require.ErrorIs(t, err, psm.ErrCycleFailed)
	strict, err := m.New(ctx)
	require.NoError(t, err)
	require.NoError(t, m.SetPolicy(ctx, strict, psm.Policy{Generation: psm.GenerateApprove}))
	_, err = m.Send(ctx, strict, "delta")
	require.ErrorIs(t, err, psm.ErrAwaitingApproval)
	parked := idsOf(t, m, "delta", "epsilon")
	require.Len(t, parked, 2, "delta's cycle with the one nested in it")
	closeWithin(t, m, 10*time.Second)

	opts.Retention = psm.PruneOptions{MaxAge: time.Nanosecond}
	m, err = psm.Open(ctx, dir, opts)
	require.NoError(t, err)
	defer closeWithin(t, m, 10*time.Second)
	assert.Equal(t, parked, recordIDs(t, m), "the failed cycle is pruned; the parked one and its nested one stay")
	pending, err := m.Pending(ctx)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	_, err = m.Approve(ctx, pending[0].CycleID, psm.By("ada"))
	require.NoError(t, err)
	v, err := m.Send(ctx, strict, "delta")
	require.NoError(t, err)
	assert.Equal(t, "epsilon", v)
	rep, err := m.Prune(ctx, psm.PruneOptions{})
	require.NoError(t, err, "zero options: Options.Retention")
	assert.Empty(t, rep.Pruned, "both installed current versions")
	assert.Equal(t, 2, rep.Kept[psm.KeptCurrent])
}

// Many records are pruned in several transactions, oldest first, and
// MaxRecords keeps exactly the newest ones; a second prune finds
// nothing more to do.
func TestPruneManyRecords(t *testing.T) {
	m := pruneMind(t, nil)
	const n = 700 // more than one batch
	base := time.Now().UTC().Add(-time.Hour)
	events := []psm.Event{{Kind: psm.EventPrompt, Text: strings.Repeat("a long prompt ", 500)}}
	var ids []string
	for i := 0; i < n; i += 100 {
		require.NoError(t, m.Image().Update(ctx, func(tx *uvm.Tx) error {
			for j := i; j < i+100; j++ {
				id := fmt.Sprintf("fake-%04d", j)
				rec := psm.Record{
					ID: id, Mission: psm.Mission{Selector: "broken", Target: m.Genesis()},
					Started: base.Add(time.Duration(j) * time.Second), Ended: base.Add(time.Duration(j)*time.Second + time.Millisecond),
					State: psm.Failed, Outcome: psm.Failed, FailedIn: psm.Synthesizing, Events: events,
				}
				b, err := json.Marshal(rec)
				if err != nil {
					return err
				}
				if err := tx.PutRecord(psm.RecordNamespace, id, b); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	for j := range n {
		ids = append(ids, fmt.Sprintf("fake-%04d", j))
	}

	rep, err := m.Prune(ctx, psm.PruneOptions{MaxRecords: 1})
	require.NoError(t, err)
	assert.Equal(t, n, rep.Examined)
	assert.Equal(t, ids[:n-1], rep.Pruned, "all but the newest, oldest first")
	assert.Empty(t, rep.Kept)
	assert.Equal(t, ids[n-1:], recordIDs(t, m))

	again, err := m.Prune(ctx, psm.PruneOptions{MaxRecords: 1})
	require.NoError(t, err)
	assert.Equal(t, 1, again.Examined)
	assert.Empty(t, again.Pruned)
}

// cancelWhenGone is a context cancelled from the moment the record id
// is gone from the image: a prune with it stops right after the
// transaction that removed the record.
type cancelWhenGone struct {
	context.Context
	im *uvm.Image
	id string
}

func (c cancelWhenGone) Err() error {
	err := c.im.View(context.Background(), func(tx *uvm.Tx) error {
		_, err := tx.GetRecord(psm.RecordNamespace, c.id)
		return err
	})
	if errors.Is(err, uvm.ErrNotFound) {
		return context.Canceled
	}
	return nil
}

// A prune stopped midway leaves no nested cycle's record without its
// parent's, and reports what it did remove. The parent and the nested
// cycle here are far apart among the records pruned (other cycles
// started between them), in different batches if batches were cut by
// record alone.
func TestPruneStoppedKeepsTreesWhole(t *testing.T) {
	m := pruneMind(t, nil)
	base := time.Now().UTC().Add(-time.Hour)
	put := func(id, parent string, at time.Duration) {
		rec := psm.Record{
			ID: id, Parent: parent, Mission: psm.Mission{Selector: "broken", Target: m.Genesis()},
			Started: base.Add(at), Ended: base.Add(at + time.Millisecond),
			State: psm.Failed, Outcome: psm.Failed, FailedIn: psm.Synthesizing,
		}
		if parent != "" {
			rec.Depth = 1
		}
		b, err := json.Marshal(rec)
		require.NoError(t, err)
		require.NoError(t, m.Image().Update(ctx, func(tx *uvm.Tx) error {
			return tx.PutRecord(psm.RecordNamespace, id, b)
		}))
	}
	for j := range 300 {
		put(fmt.Sprintf("fake-%04d", j), "", time.Duration(j)*time.Second)
	}
	put("outer", "", 254*time.Second+time.Millisecond) // the 256th oldest
	put("inner", "outer", 290*time.Second)
	all := recordIDs(t, m)

	rep, err := m.Prune(cancelWhenGone{Context: ctx, im: m.Image(), id: "outer"}, psm.PruneOptions{MaxAge: time.Minute})
	left := recordIDs(t, m)
	assert.NotContains(t, left, "outer", "removed in the first batch")
	assert.NotContains(t, left, "inner", "the nested cycle goes with its parent")
	if err != nil {
		require.ErrorIs(t, err, context.Canceled)
	}
	gone := slices.DeleteFunc(slices.Clone(all), func(id string) bool { return slices.Contains(left, id) })
	pruned := slices.Clone(rep.Pruned)
	slices.Sort(pruned)
	assert.Equal(t, gone, pruned, "the report names what was removed")
}
