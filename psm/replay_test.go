package psm_test

import (
	"fmt"
	"testing"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fingerprint is the image's, records included.
func fingerprint(t *testing.T, m *psm.Mind) string {
	t.Helper()
	fp, err := m.Image().Fingerprint(ctx)
	require.NoError(t, err)
	return fp
}

// verdictTexts lists a record's verdicts: attempt, text and error.
func verdictTexts(rec psm.Record) []string {
	var out []string
	for _, e := range rec.Events {
		if e.Kind == psm.EventVerdict {
			out = append(out, fmt.Sprintf("%d %s %s", e.Attempt, e.Text, e.Error))
		}
	}
	return out
}

// A stored cycle replays from the image with its recorded replies and no
// model: the same prompts, verdicts (examples included) and source, and
// nothing written to the image.
func TestReplayFromTheImage(t *testing.T) {
	script := persona.NewScripted([]persona.Reply{
		plan("absolute value"),
		{Persona: "ALFRED", Text: code(absWrong)},
		{Persona: "ALFRED", Expect: "want: 3", Text: code(absRight)},
	})
	m := memMind(t, script, nil)
	_, err := m.SendWith(ctx, m.Genesis(), "abs", []any{-5}, psm.WithExamples(absExamples...))
	require.NoError(t, err)
	recs, err := m.Cycles(ctx)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	calls := len(script.Calls())
	before := fingerprint(t, m)

	r, err := m.Replay(ctx, recs[0].ID)
	require.NoError(t, err)
	require.NoError(t, r.Err)
	require.True(t, r.Same(), "differences: %v", r.Differences)
	require.Len(t, r.Replayed, 1)
	assert.Equal(t, recs[0].Source, r.Replayed[0].Source)
	assert.Equal(t, psm.Complete, r.Replayed[0].Outcome)
	assert.Equal(t, 2, r.Replayed[0].Attempts)
	assert.Equal(t, verdictTexts(recs[0]), verdictTexts(r.Replayed[0]), "the same verdicts")
	assert.Len(t, verdictTexts(recs[0]), 12, "audit, compile, dry run and three examples, twice")
	assert.NotEqual(t, recs[0].ID, r.Replayed[0].ID)
	recorded, rerun := r.Outcomes()
	assert.Equal(t, recorded, rerun)
	assert.Equal(t, 3, rerun.ModelCalls)
	assert.Equal(t, calls, len(script.Calls()), "no model was asked")
	assert.Equal(t, before, fingerprint(t, m), "the image is unchanged, records included")

	_, err = m.Replay(ctx, "no-such-cycle")
	require.ErrorIs(t, err, psm.ErrNoSuchCycle)
}

const helloSrc = `package m

import "batos"

// hello greets the receiver by its name.
func hello(self batos.Self, args []any) (any, error) {
	name, _ := self.Get("name").(string)
	return "hello, " + name, nil
}`

// On a changed image, a replay says which step differs.
func TestReplayOnAChangedImage(t *testing.T) {
	script := persona.NewScripted([]persona.Reply{plan("greeting"), {Persona: "ALFRED", Text: code(helloSrc)}})
	m := memMind(t, script, nil)
	v, err := m.Send(ctx, m.Genesis(), "hello")
	require.NoError(t, err)
	require.Equal(t, "hello, genesis", v)
	recs, err := m.Cycles(ctx)
	require.NoError(t, err)
	r, err := m.Replay(ctx, recs[0].ID)
	require.NoError(t, err)
	require.True(t, r.Same(), "unchanged image: %v", r.Differences)

	require.NoError(t, m.Image().Update(ctx, func(tx *uvm.Tx) error {
		g, err := tx.Object(m.Genesis())
		if err != nil {
			return err
		}
		return g.Set("name", "renamed")
	}))
	r, err = m.Replay(ctx, recs[0].ID)
	require.NoError(t, err)
	require.NoError(t, r.Err, "the rerun still validates")
	require.Len(t, r.Differences, 1, "%v", r.Differences)
	d := r.Differences[0]
	assert.Equal(t, recs[0].ID, d.Cycle)
	assert.Equal(t, psm.Validating, d.State)
	assert.Equal(t, psm.EventNote, d.Kind)
	assert.Contains(t, d.Want, `dry run answered "hello, genesis"`)
	assert.Contains(t, d.Got, `dry run answered "hello, renamed"`)
	var seq int
	for _, e := range recs[0].Events {
		if e.Kind == psm.EventNote && e.State == psm.Validating {
			seq = e.Seq
		}
	}
	assert.Equal(t, seq, d.Step, "the step is the recorded event's")
	assert.Contains(t, d.String(), "step")
}

// A replay reruns nested cycles too. While the nested method is
// installed, the rerun's dry run is answered by it and the replay says
// the nested cycle is missing; with it removed, the replay is the same.
func TestReplayOfNestedCycles(t *testing.T) {
	script := persona.NewScripted(nestedReplies())
	m := memMind(t, script, nil)
	_, err := m.Send(ctx, m.Genesis(), "outer")
	require.NoError(t, err)
	recs, err := m.Cycles(ctx)
	require.NoError(t, err)
	var top psm.Record
	for _, r := range recs {
		if r.Depth == 0 {
			top = r
		}
	}

	r, err := m.Replay(ctx, top.ID)
	require.NoError(t, err)
	require.NoError(t, r.Err)
	require.Len(t, r.Recorded, 2)
	require.Len(t, r.Replayed, 1)
	require.NotEmpty(t, r.Differences)
	last := r.Differences[len(r.Differences)-1]
	assert.Equal(t, "cycle", last.Kind)
	assert.Contains(t, last.Want, `a nested cycle for "inner"`)

	require.NoError(t, m.Image().Update(ctx, func(tx *uvm.Tx) error {
		g, err := tx.Object(m.Genesis())
		if err != nil {
			return err
		}
		return g.Delete("inner")
	}))
	r, err = m.Replay(ctx, top.ID)
	require.NoError(t, err)
	require.NoError(t, r.Err)
	require.True(t, r.Same(), "differences: %v", r.Differences)
	require.Len(t, r.Replayed, 2)
	assert.Equal(t, r.Replayed[0].ID, r.Replayed[1].Parent)
}

// A fork reruns a recorded mission with another model and persona, and
// compares the outcomes.
func TestForkWithAnotherModelAndPersona(t *testing.T) {
	script := persona.NewScripted([]persona.Reply{
		plan("absolute value"),
		{Persona: "ALFRED", Text: code(absWrong)},
		{Persona: "ALFRED", Expect: "want: 3", Text: code(absRight)},
	})
	m := memMind(t, script, nil)
	_, err := m.SendWith(ctx, m.Genesis(), "abs", []any{-5}, psm.WithExamples(absExamples...))
	require.NoError(t, err)
	recs, err := m.Cycles(ctx)
	require.NoError(t, err)
	before := fingerprint(t, m)

	other := persona.NewScripted([]persona.Reply{
		plan("absolute value"),
		{Persona: "ROBIN", Expect: "You are ROBIN.", Text: code(absRight)},
	})
	r, err := m.Fork(ctx, recs[0].ID, psm.ForkOptions{Model: other, Persona: "ROBIN"})
	require.NoError(t, err)
	require.NoError(t, r.Err)
	require.NoError(t, other.Verify())
	recorded, fork := r.Outcomes()
	assert.Equal(t, psm.Complete, recorded.Outcome)
	assert.Equal(t, psm.Complete, fork.Outcome)
	assert.Equal(t, 2, recorded.Attempts)
	assert.Equal(t, 1, fork.Attempts, "the fork's model got it right at once")
	assert.Equal(t, 3, recorded.ModelCalls)
	assert.Equal(t, 2, fork.ModelCalls)
	assert.Equal(t, "ROBIN", r.Replayed[0].Persona)
	assert.False(t, r.Same())

	// A fork whose model never meets the examples fails, and says where.
	bad := persona.NewScripted([]persona.Reply{
		plan("absolute value"), {Text: code(absWrong)}, {Text: code(absWrong)}, {Text: code(absWrong)},
	})
	r, err = m.Fork(ctx, recs[0].ID, psm.ForkOptions{Model: bad})
	require.NoError(t, err)
	require.ErrorIs(t, r.Err, psm.ErrExampleFailed)
	_, fork = r.Outcomes()
	assert.Equal(t, psm.Failed, fork.Outcome)
	assert.Equal(t, psm.Validating, fork.FailedIn)
	assert.Equal(t, before, fingerprint(t, m), "forks write nothing")

	// A fork from a spec.
	_, err = m.Fork(ctx, recs[0].ID, psm.ForkOptions{Spec: "nonsense"})
	require.ErrorIs(t, err, persona.ErrBadSpec)
}

// Records compare equal when the same mission ran twice with the same
// replies on equal images; their replies make a script for that.
func TestCompareRecordsAndScript(t *testing.T) {
	replies := []persona.Reply{plan("greeting"), {Persona: "ALFRED", Text: code(helloSrc)}}
	a := memMind(t, persona.NewScripted(replies), nil)
	_, err := a.Send(ctx, a.Genesis(), "hello")
	require.NoError(t, err)
	ra, err := a.Cycles(ctx)
	require.NoError(t, err)

	again := persona.NewScripted(psm.Script(ra...))
	b := memMind(t, again, nil)
	_, err = b.Send(ctx, b.Genesis(), "hello")
	require.NoError(t, err)
	require.NoError(t, again.Verify())
	rb, err := b.Cycles(ctx)
	require.NoError(t, err)
	require.Empty(t, psm.CompareRecords(ra[0], rb[0]))

	changed := rb[0]
	changed.Events = append([]psm.Event(nil), rb[0].Events...)
	changed.Events[3].Text += " (changed)"
	diffs := psm.CompareRecords(ra[0], changed)
	require.Len(t, diffs, 1)
	assert.Equal(t, 4, diffs[0].Step)
}
