package psm_test

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// deleteSlot removes an own slot (a method) of oid behind psm's back, as
// a host with the image may; the skill index still lists the method.
func deleteSlot(t *testing.T, m *psm.Mind, oid uvm.OID, name string) {
	t.Helper()
	require.NoError(t, m.Image().Update(ctx, func(tx *uvm.Tx) error {
		o, err := tx.Object(oid)
		if err != nil {
			return err
		}
		return o.Delete(name)
	}))
}

// A similar method that would send back the very message being written
// (word_count delegates to count_words, which is gone) is not reused:
// its dry run loops, the loop ends in an error within bounds, and the
// cycle asks the model.
func TestReuseDelegationLoopAsksTheModel(t *testing.T) {
	model := &selectorModel{src: wordsSrc}
	m := memMind(t, model, func(o *psm.Options) { o.ReuseThreshold = 0.7 })
	oid, err := m.New(ctx)
	require.NoError(t, err)
	_, err = m.Install(ctx, oid, "count_words", wordsSrc("count_words"), psm.WithArgs("a b"))
	require.NoError(t, err)
	v, err := m.SendWith(ctx, oid, "word_count", []any{"a b c d"}, psm.WithExamples(psm.Example{Args: []any{"x y"}, Want: int64(2)}))
	require.NoError(t, err)
	require.Equal(t, int64(4), v)
	rec := lastCycle(t, m, oid, "word_count")
	require.NotNil(t, rec.Reused)
	require.Equal(t, psm.ReuseDelegate, rec.Reused.How)
	require.Equal(t, int64(1), model.calls.Load(), "the plan only")

	deleteSlot(t, m, oid, "count_words")
	within(t, 30*time.Second, "count_words after its delegate lost it", func() {
		v, err = m.Send(ctx, oid, "count_words", "one two three")
	})
	require.NoError(t, err)
	assert.Equal(t, int64(3), v)
	assert.Equal(t, int64(3), model.calls.Load(), "the model wrote count_words again")
	rec = lastCycle(t, m, oid, "count_words")
	assert.Nil(t, rec.Reused)
	assert.Zero(t, rec.ModelCallsAvoided)
	assert.Equal(t, 1, rec.Attempts)
	var notes []string
	for _, e := range rec.Events {
		notes = append(notes, e.Text)
	}
	assert.Contains(t, strings.Join(notes, "\n"), "not reused: word_count v1", "the delegation was tried and its loop rejected")
	v, err = m.Send(ctx, oid, "word_count", "p q")
	require.NoError(t, err)
	assert.Equal(t, int64(2), v, "word_count delegates to the new count_words")
}

// A similar method whose object was deleted, or that its object no
// longer holds, is not reused: the cycle says why and asks the model.
func TestReuseStaleSkill(t *testing.T) {
	for _, gone := range []string{"object", "method"} {
		t.Run(gone, func(t *testing.T) {
			model := &selectorModel{src: wordsSrc}
			m := memMind(t, model, nil)
			first, other := reusedTo(t, m)
			if gone == "object" {
				require.NoError(t, m.Image().Update(ctx, func(tx *uvm.Tx) error {
					o, err := tx.Object(first)
					if err != nil {
						return err
					}
					return tx.Delete(o)
				}))
			} else {
				deleteSlot(t, m, first, "count_words")
			}
			v, err := m.Send(ctx, other, "count_words", "a b")
			require.NoError(t, err)
			assert.Equal(t, int64(2), v)
			assert.Equal(t, int64(4), model.calls.Load(), "the model wrote it")
			rec := lastCycle(t, m, other, "count_words")
			assert.Nil(t, rec.Reused)
			var notes []string
			for _, e := range rec.Events {
				notes = append(notes, e.Text)
			}
			assert.Contains(t, strings.Join(notes, "\n"), "cannot be reused")
		})
	}
}

// A similar method that only forwards its message (a delegation an
// earlier reuse installed) is reused as the method it forwards to: an
// object that cannot reach that method gets a copy of it, not a copy of
// the forwarding, which would send a message the object does not answer
// and start a cycle (and install a method) nobody asked for.
func TestReuseFollowsAForwardingMethod(t *testing.T) {
	model := &selectorModel{src: wordsSrc}
	m := memMind(t, model, func(o *psm.Options) { o.ReuseThreshold = 0.7 })
	p, err := m.New(ctx)
	require.NoError(t, err)
	_, err = m.Send(ctx, p, "count_words", "a b")
	require.NoError(t, err)
	c, err := m.New(ctx, p)
	require.NoError(t, err)
	_, err = m.SendWith(ctx, c, "word_count", []any{"a b c"}, psm.WithExamples(psm.Example{Args: []any{"x y"}, Want: int64(2)}))
	require.NoError(t, err)
	require.Equal(t, psm.ReuseDelegate, lastCycle(t, m, c, "word_count").Reused.How, "word_count on c forwards to count_words")
	require.Equal(t, int64(3), model.calls.Load())

	x, err := m.New(ctx)
	require.NoError(t, err)
	v, err := m.Send(ctx, x, "words_count", "a b c")
	require.NoError(t, err)
	assert.Equal(t, int64(3), v)
	rec := lastCycle(t, m, x, "words_count")
	require.NotNil(t, rec.Reused)
	assert.Equal(t, psm.Reuse{Object: p, Selector: "count_words", Version: 1, Similarity: rec.Reused.Similarity, How: psm.ReuseCopy}, *rec.Reused)
	assert.Equal(t, int64(4), model.calls.Load(), "the plan only: no nested cycle")
	hist, err := m.History(ctx, x, "count_words")
	require.NoError(t, err)
	assert.Empty(t, hist, "x was sent words_count only")
	assert.Contains(t, rec.Source, "strings.Fields", "a copy of what word_count forwards to")
	var notes []string
	for _, e := range rec.Events {
		notes = append(notes, e.Text)
	}
	assert.Contains(t, strings.Join(notes, "\n"), fmt.Sprintf("forwards to count_words v1 on object %d", p))
}

// A ReuseThreshold that is no number (NaN, from a division by zero in a
// caller's configuration, say) turns reuse off: it does not take every
// installed method as similar enough, which installed a word count as
// reverse_text.
func TestReuseThresholdNaN(t *testing.T) {
	model := &selectorModel{src: func(sel string) string {
		if sel != "reverse_text" {
			return wordsSrc(sel)
		}
		return `package m

import "batos"

// reverse_text reverses its first argument.
func reverse_text(self batos.Self, args []any) (any, error) {
	s, _ := args[0].(string)
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r), nil
}`
	}}
	m := memMind(t, model, func(o *psm.Options) { o.ReuseThreshold = math.NaN() })
	_, other := reusedTo(t, m)
	v, err := m.Send(ctx, other, "reverse_text", "abc")
	require.NoError(t, err)
	assert.Equal(t, "cba", v)
	assert.Nil(t, lastCycle(t, m, other, "reverse_text").Reused)
	assert.Equal(t, int64(4), model.calls.Load())
}

// Several cycles reusing one method at once each install their own
// copy, and what they reused, with the model calls they saved, is still
// in their records after a restart.
func TestReuseConcurrentThenRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "image")
	model := &selectorModel{src: wordsSrc}
	m, err := psm.Open(ctx, dir, psm.Options{Model: model})
	require.NoError(t, err)
	first, err := m.New(ctx)
	require.NoError(t, err)
	_, err = m.Send(ctx, first, "count_words", "a b")
	require.NoError(t, err)
	const n = 3
	oids := make([]uvm.OID, n)
	chans := make([]<-chan sendResult, n)
	for i := range n {
		oids[i], err = m.New(ctx)
		require.NoError(t, err)
	}
	for i := range n {
		chans[i] = sendAsyncTo(ctx, m, oids[i], "count_words", "x y z")
	}
	for i := range n {
		r := await(t, 60*time.Second, "a concurrent reuse", chans[i])
		require.NoError(t, r.err)
		assert.Equal(t, int64(3), r.v)
	}
	assert.Equal(t, int64(2+n), model.calls.Load(), "a plan each, no synthesis")
	require.NoError(t, m.Close())

	m, err = psm.Open(ctx, dir, psm.Options{Model: model})
	require.NoError(t, err)
	defer func() { require.NoError(t, m.Close()) }()
	avoided := 0
	for _, oid := range oids {
		rec := lastCycle(t, m, oid, "count_words")
		require.NotNil(t, rec.Reused)
		assert.Equal(t, first, rec.Reused.Object)
		avoided += rec.ModelCallsAvoided
		v, err := m.Send(ctx, oid, "count_words", "p")
		require.NoError(t, err)
		assert.Equal(t, int64(1), v)
	}
	assert.Equal(t, n, avoided)
}

// A nested cycle's reuse waiting with its outer cycle's method is
// approved as a reuse too: its version's history says "reused …".
func TestReuseNestedAwaitingApproval(t *testing.T) {
	model := &selectorModel{src: func(sel string) string {
		if sel != "shout_count" {
			return wordsSrc(sel)
		}
		return `package m

import (
	"fmt"

	"batos"
)

// shout_count says how many words its argument has, loudly.
func shout_count(self batos.Self, args []any) (any, error) {
	n, err := self.Send("count_words", args...)
	if err != nil {
		return nil, err
	}
	return fmt.Sprintf("%v WORDS!", n), nil
}`
	}}
	m := memMind(t, model, nil)
	_, other := reusedTo(t, m)
	require.NoError(t, m.SetPolicy(ctx, other, psm.Policy{Generation: psm.GenerateApprove}))
	_, err := m.Send(ctx, other, "shout_count", "a b")
	var ae *psm.ApprovalError
	require.ErrorAs(t, err, &ae)
	pending, err := m.Pending(ctx)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	require.Len(t, pending[0].Nested, 1)
	nested := pending[0].Nested[0]
	require.Equal(t, "count_words", nested.Selector)
	require.NotNil(t, nested.Reused, "the approver is told the nested method is a reuse")
	assert.Empty(t, nested.Model)
	assert.Nil(t, pending[0].Reused, "the model wrote shout_count")
	assert.NotEmpty(t, pending[0].Model)

	_, err = m.Approve(ctx, ae.CycleID, psm.By("ana"))
	require.NoError(t, err)
	hist, err := m.History(ctx, other, "count_words")
	require.NoError(t, err)
	require.Len(t, hist, 1)
	assert.Contains(t, hist[0].Why, "reused count_words v1")
	assert.Empty(t, hist[0].Model)
	v, err := m.Send(ctx, other, "shout_count", "a b c")
	require.NoError(t, err)
	assert.Equal(t, "3 WORDS!", v)
}
