package psm_test

// Hostile models, through the public API: the replies and behaviours that
// hostile testing (issue 12) found the cycle mishandling. Each test names
// the hole it keeps closed.

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms"
)

// promptsOf returns the prompts a cycle sent to persona, in order.
func promptsOf(t *testing.T, m *psm.Mind, id, persona string) []string {
	t.Helper()
	rec, err := m.Cycle(ctx, id)
	require.NoError(t, err)
	var out []string
	for _, e := range rec.Events {
		if e.Kind == psm.EventPrompt && e.Persona == persona {
			out = append(out, e.Text)
		}
	}
	return out
}

// feedbackOf returns the error a synthesis prompt feeds back.
func feedbackOf(t *testing.T, prompt string) string {
	t.Helper()
	_, after, ok := strings.Cut(prompt, "The error:\n")
	require.True(t, ok, "the prompt feeds an error back:\n%s", prompt)
	fb, _, ok := strings.Cut(after, "\nFix exactly this")
	require.True(t, ok)
	return fb
}

// A method that sends its own selector: the error keeps its root cause
// (the depth limit) and compresses the chain, in the sender's error, the
// record and the feedback to the model, which speaks the contract's names.
func TestRecursiveCandidateKeepsTheCause(t *testing.T) {
	const src = `package m

import "batos"

// again sends itself for ever.
func again(self batos.Self, args []any) (any, error) {
	return self.Send("again")
}`
	script := persona.NewScripted([]persona.Reply{
		plan("recursion"),
		{Persona: "ALFRED", Expect: `"again"`, Text: code(src)},
		{Persona: "ALFRED", Expect: "nested too deep", Text: code(src)},
	})
	m := memMind(t, script, func(o *psm.Options) { o.MaxAttempts = 2 })
	var err error
	within(t, 60*time.Second, "send again", func() { _, err = m.Send(ctx, m.Genesis(), "again") })
	var ce *psm.CycleError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, psm.Validating, ce.State)
	require.Zero(t, script.Remaining(), "the second attempt was asked with the cause")
	require.Contains(t, err.Error(), "nested too deep", "the root cause")
	require.Regexp(t, `method "again" \(candidate\) \(×\d+\): `, err.Error(), "the chain, compressed")
	require.Less(t, len(err.Error()), 600, "got %d bytes: %.600s", len(err.Error()), err)

	rec, rerr := m.Cycle(ctx, ce.CycleID)
	require.NoError(t, rerr)
	require.Contains(t, rec.Error, "nested too deep")
	prompts := promptsOf(t, m, ce.CycleID, "ALFRED")
	require.Len(t, prompts, 2)
	fb := feedbackOf(t, prompts[1])
	require.Contains(t, fb, "nested too deep")
	require.Less(t, len(fb), 300, "feedback: %s", fb)
	for _, host := range []string{"live: ", "uvm: ", "uvm.", "live."} {
		require.NotContains(t, fb, host, "the feedback speaks the contract's names")
	}
}

// A method whose error is 100 KB: what the record keeps and what the model
// reads are bounded, and both keep the end of the text, where the root
// cause is.
func TestHugeErrorIsClippedAroundItsCause(t *testing.T) {
	const src = `package m

import (
	"errors"
	"strings"

	"batos"
)

// chatty fails at length.
func chatty(self batos.Self, args []any) (any, error) {
	return nil, errors.New(strings.Repeat("blah ", 20000) + "THE ROOT CAUSE")
}`
	script := persona.NewScripted([]persona.Reply{
		plan("errors"),
		{Persona: "ALFRED", Text: code(src)},
		{Persona: "ALFRED", Text: code(src)},
	})
	m := memMind(t, script, func(o *psm.Options) { o.MaxAttempts = 2 })
	_, err := m.Send(ctx, m.Genesis(), "chatty")
	var ce *psm.CycleError
	require.ErrorAs(t, err, &ce)
	rec, rerr := m.Cycle(ctx, ce.CycleID)
	require.NoError(t, rerr)
	require.Contains(t, rec.Error, "THE ROOT CAUSE")
	require.Less(t, len(rec.Error), 9<<10)
	for _, e := range rec.Events {
		require.Less(t, len(e.Error), 9<<10, "event %d", e.Seq)
	}
	fb := feedbackOf(t, promptsOf(t, m, ce.CycleID, "ALFRED")[1])
	require.Contains(t, fb, "THE ROOT CAUSE")
	require.LessOrEqual(t, len(fb), 4100)
}

// failModel is a model whose every call fails with err.
type failModel struct{ err error }

func (f failModel) GenerateContent(context.Context, []llms.MessageContent, ...llms.CallOption) (*llms.ContentResponse, error) {
	return nil, f.err
}

func (f failModel) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, f, prompt, options...)
}

// A model whose error is a megabyte long does not put a megabyte into the
// record, twice.
func TestHugeModelErrorIsClippedInTheRecord(t *testing.T) {
	m := memMind(t, failModel{errors.New(strings.Repeat("x", 1<<20) + " the end")}, nil)
	_, err := m.Send(ctx, m.Genesis(), "greet")
	var ce *psm.CycleError
	require.ErrorAs(t, err, &ce)
	rec, rerr := m.Cycle(ctx, ce.CycleID)
	require.NoError(t, rerr)
	require.Less(t, len(rec.Error), 9<<10)
	require.True(t, strings.HasSuffix(rec.Error, "the end"), "the end of the text survives: %.100s", rec.Error[len(rec.Error)-100:])
	for _, e := range rec.Events {
		require.Less(t, len(e.Error), 9<<10, "event %d", e.Seq)
	}
}

// A 10 MB plan is an unusable plan like any other: the cycle falls back to
// queries derived from the selector, without asking BRICK again for
// another 10 MB, and goes on to write the method.
func TestOversizedPlanFallsBack(t *testing.T) {
	huge := `{"queries": ["` + strings.Repeat("greeting ", 10<<20/9) + `"]}`
	script := persona.NewScripted([]persona.Reply{
		{Persona: "BRICK", Text: huge},
		{Persona: "ALFRED", Expect: `"greet"`, Text: code(greetSrc)},
	})
	m := memMind(t, script, nil)
	v, err := m.Send(ctx, m.Genesis(), "greet")
	require.NoError(t, err)
	require.Equal(t, "hello, architect", v)
	require.Zero(t, script.Remaining())
	recs, err := m.Cycles(ctx)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.True(t, recs[0].Fallback, "the queries are derived")
	require.Equal(t, psm.Complete, recs[0].Outcome)
	var verdicts int
	for _, e := range recs[0].Events {
		if e.Kind == psm.EventVerdict && strings.Contains(e.Error, "unusable plan") {
			verdicts++
			require.Contains(t, e.Error, "too large")
		}
	}
	require.Equal(t, 1, verdicts, "the oversized plan is recorded as unusable, once")
}

// An empty plan is asked for again (it may be a fluke), then falls back.
func TestEmptyPlanIsAskedAgain(t *testing.T) {
	script := persona.NewScripted([]persona.Reply{
		{Persona: "BRICK", Text: "  "},
		plan("greeting"),
		{Persona: "ALFRED", Expect: `"greet"`, Text: code(greetSrc)},
	})
	m := memMind(t, script, nil)
	_, err := m.Send(ctx, m.Genesis(), "greet")
	require.NoError(t, err)
	require.Zero(t, script.Remaining())
	recs, err := m.Cycles(ctx)
	require.NoError(t, err)
	require.False(t, recs[0].Fallback)
	require.Equal(t, []string{"greeting"}, recs[0].Queries)
}
