package psm_test

import (
	"strings"
	"testing"

	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reusedTo writes count_words on a first object (a model call for the
// plan, one for the method) and returns it with a second, fresh object.
func reusedTo(t *testing.T, m *psm.Mind) (first, other uvm.OID) {
	t.Helper()
	first, err := m.New(ctx)
	require.NoError(t, err)
	v, err := m.Send(ctx, first, "count_words", "one two three")
	require.NoError(t, err)
	require.Equal(t, int64(3), v)
	other, err = m.New(ctx)
	require.NoError(t, err)
	return first, other
}

// A reuse that waits for approval tells the approver it is a reuse, and
// once approved its version's history says "reused …" and names no
// model, as a reuse installed without approval does.
func TestReuseAwaitingApproval(t *testing.T) {
	model := &selectorModel{src: wordsSrc}
	m := memMind(t, model, nil)
	first, other := reusedTo(t, m)
	require.NoError(t, m.SetPolicy(ctx, other, psm.Policy{Generation: psm.GenerateApprove}))

	_, err := m.Send(ctx, other, "count_words", "a b")
	var ae *psm.ApprovalError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, int64(3), model.calls.Load(), "the second cycle asked for its plan only")

	pending, err := m.Pending(ctx)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	a := pending[0]
	require.NotNil(t, a.Reused, "the approver is told the method is a reuse")
	assert.Equal(t, first, a.Reused.Object)
	assert.Equal(t, "count_words", a.Reused.Selector)
	assert.Empty(t, a.Model, "no model wrote it")

	v, err := m.Approve(ctx, ae.CycleID, psm.By("ana"))
	require.NoError(t, err)
	assert.Contains(t, v.Why, "reused count_words v1 from object")
	assert.Empty(t, v.Model, "no model wrote it")
	assert.Equal(t, "ana", v.ApprovedBy)

	hist, err := m.History(ctx, other, "count_words")
	require.NoError(t, err)
	require.Len(t, hist, 1)
	assert.Contains(t, hist[0].Why, "reused count_words v1")
	assert.Empty(t, hist[0].Model)

	rec, err := m.Cycle(ctx, ae.CycleID)
	require.NoError(t, err)
	require.NotNil(t, rec.Reused)
	assert.Equal(t, 1, rec.ModelCallsAvoided)
	got, err := m.Send(ctx, other, "count_words", "a b c")
	require.NoError(t, err)
	assert.Equal(t, int64(3), got)
}

// countTimesSrc is a method for sel that answers ten times the words of
// its argument: a later version of count_words that means otherwise.
func countTimesSrc(sel string) string {
	return strings.Replace(wordsSrc(sel), "return int64(len(strings.Fields(s))), nil", "return int64(10 * len(strings.Fields(s))), nil", 1)
}

// A replay of a cycle that copied a method reruns with the version it
// copied, as it reruns with the replies it recorded: a newer version of
// the reused method since is not a difference of the rerun.
func TestReuseReplayCopiesTheRecordedVersion(t *testing.T) {
	model := &selectorModel{src: wordsSrc}
	m := memMind(t, model, nil)
	first, other := reusedTo(t, m)
	_, err := m.Send(ctx, other, "count_words", "a b")
	require.NoError(t, err)
	rec := lastCycle(t, m, other, "count_words")
	require.NotNil(t, rec.Reused)
	require.Equal(t, psm.ReuseCopy, rec.Reused.How)
	require.Equal(t, 1, rec.Reused.Version)

	_, err = m.Install(ctx, first, "count_words", countTimesSrc("count_words"), psm.WithArgs("x y"))
	require.NoError(t, err)

	replay, err := m.Replay(ctx, rec.ID)
	require.NoError(t, err)
	require.NoError(t, replay.Err)
	assert.True(t, replay.Same(), "the rerun copies v1, as recorded: %v", replay.Differences)
	require.NotEmpty(t, replay.Replayed)
	require.NotNil(t, replay.Replayed[0].Reused)
	assert.Equal(t, 1, replay.Replayed[0].Reused.Version)
	assert.Equal(t, rec.Source, replay.Replayed[0].Source)

}
