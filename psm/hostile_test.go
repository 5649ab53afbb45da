package psm_test

// Hostile models, through the public API: the replies and behaviours that
// hostile testing (issue 12) found the cycle mishandling. Each test names
// the hole it keeps closed.

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
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

// countingModel answers by role and counts the requests it receives:
// BRICK gets a plan, a synthesis prompt gets code (src), anything else (an
// infer from generated code) gets "ok". Every reply reports 10 prompt and
// 5 completion tokens. The first empty calls answer nothing (a retryable
// fault).
type countingModel struct {
	src   string
	empty int64
	calls atomic.Int64
	infer atomic.Int64
}

func (c *countingModel) GenerateContent(ctx context.Context, msgs []llms.MessageContent, _ ...llms.CallOption) (*llms.ContentResponse, error) {
	n := c.calls.Add(1)
	text := "ok"
	prompt := persona.PromptText(msgs)
	switch {
	case n <= c.empty:
		text = ""
	case persona.PersonaFrom(ctx) == "BRICK":
		text = `{"queries": ["models"]}`
	case strings.Contains(prompt, "Write the method"):
		text = code(c.src)
	default:
		c.infer.Add(1)
	}
	return &llms.ContentResponse{Choices: []*llms.ContentChoice{{
		Content: text, StopReason: "stop",
		GenerationInfo: map[string]any{"PromptTokens": 10, "CompletionTokens": 5},
	}}}, nil
}

func (c *countingModel) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, c, prompt, options...)
}

// inferLoopSrc asks the model a thousand times, ignoring every failure.
const inferLoopSrc = `package m

import "batos"

// chatter asks the model again and again.
func chatter(self batos.Self, args []any) (any, error) {
	defer self.MarkChanged()
	n := int64(0)
	for i := 0; i < 1000; i++ {
		if _, err := self.Send("infer", "say something"); err == nil {
			n++
		}
	}
	return n, nil
}`

// A generated method that loops on infer reached the model ~300 times in
// 0.15 s. Each top-level call of a generated method has a budget of model
// calls (Options.MaxInferCalls): past it the call fails with
// ErrModelBudget naming the method, whatever the method does with the
// errors; a negative budget allows no model call at all.
func TestInferLoopIsBounded(t *testing.T) {
	for _, tc := range []struct {
		name      string
		max, want int
	}{{"default", 0, psm.DefaultMaxInferCalls}, {"two", 2, 2}, {"none", -1, 0}} {
		for _, policy := range []string{psm.PolicyIsolated, psm.PolicyInProcess} {
			t.Run(tc.name+"/"+policy, func(t *testing.T) {
				model := &countingModel{}
				m := memMind(t, model, func(o *psm.Options) { o.MaxInferCalls = tc.max })
				require.NoError(t, m.Image().Update(ctx, func(tx *uvm.Tx) error {
					g, err := tx.Object(m.Genesis())
					if err != nil {
						return err
					}
					_, err = tx.InstallMethod(g, uvm.Method{Selector: "chatter", Source: inferLoopSrc, Policy: policy})
					return err
				}))
				for range 2 { // every top-level call has a budget of its own
					before := model.calls.Load()
					v, err := m.Send(ctx, m.Genesis(), "chatter")
					require.Nil(t, v)
					require.ErrorIs(t, err, psm.ErrModelBudget)
					var be *psm.ModelBudgetError
					require.ErrorAs(t, err, &be)
					require.Equal(t, psm.BudgetCall, be.Budget)
					require.Equal(t, tc.want, be.Limit)
					require.Equal(t, `"chatter" v1`, be.Method)
					require.Contains(t, err.Error(), `"chatter" v1`)
					require.Equal(t, int64(tc.want), model.calls.Load()-before, "model calls")
				}
			})
		}
	}
}

// A cycle's model calls are bounded in all (Options.MaxModelCalls): the
// plan, every synthesis attempt and the infer sends of its dry runs. The
// record counts every call and the tokens the model reported.
func TestCycleModelBudget(t *testing.T) {
	src := strings.Replace(inferLoopSrc, "chatter", "chat", -1)
	model := &countingModel{src: src}
	m := memMind(t, model, func(o *psm.Options) {
		o.MaxModelCalls = 5
		o.MaxInferCalls = 100
		o.MaxAttempts = 3
	})
	_, err := m.Send(ctx, m.Genesis(), "chat")
	require.ErrorIs(t, err, psm.ErrModelBudget)
	require.ErrorIs(t, err, psm.ErrCycleFailed)
	var be *psm.ModelBudgetError
	require.ErrorAs(t, err, &be)
	require.Equal(t, psm.BudgetCycle, be.Budget)
	require.Equal(t, 5, be.Limit)
	require.Equal(t, `"chat"`, be.Method)
	require.Equal(t, int64(5), model.calls.Load(), "plan, synthesis, three infer calls in the dry run; the second synthesis is refused")
	require.Equal(t, int64(3), model.infer.Load())
	var ce *psm.CycleError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, psm.Synthesizing, ce.State)
	rec, err := m.Cycle(ctx, ce.CycleID)
	require.NoError(t, err)
	require.Equal(t, 5, rec.ModelCalls)
	require.Equal(t, 50, rec.PromptTokens)
	require.Equal(t, 25, rec.CompletionTokens)
}

// Every request a model receives is counted, retries included, and each
// retry is an event of the record.
func TestRetriesAreRecorded(t *testing.T) {
	model := &countingModel{src: greetSrc, empty: 1}
	m := memMind(t, model, func(o *psm.Options) { o.Personas.Limits.RetryBackoff = time.Millisecond })
	v, err := m.Send(ctx, m.Genesis(), "greet")
	require.NoError(t, err)
	require.Equal(t, "hello, architect", v)
	recs, err := m.Cycles(ctx)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Equal(t, 3, recs[0].ModelCalls, "the empty plan, its retry and the synthesis")
	require.Equal(t, 20, recs[0].PromptTokens, "the empty reply reported nothing")
	var retries []psm.Event
	for _, e := range recs[0].Events {
		if e.Kind == psm.EventRetry {
			retries = append(retries, e)
		}
	}
	require.Len(t, retries, 1)
	require.Equal(t, "BRICK", retries[0].Persona)
	require.Equal(t, psm.Decomposing, retries[0].State)
	require.Contains(t, retries[0].Error, "empty")
}

// countCalls counts the requests a model receives.
type countCalls struct {
	llms.Model
	calls atomic.Int64
}

func (c *countCalls) GenerateContent(ctx context.Context, msgs []llms.MessageContent, opts ...llms.CallOption) (*llms.ContentResponse, error) {
	c.calls.Add(1)
	return c.Model.GenerateContent(ctx, msgs, opts...)
}

// A nested cycle spends the budget of the cycle whose dry run started it.
func TestNestedCyclesShareTheModelBudget(t *testing.T) {
	model := &countCalls{Model: newRouteModel(map[string]string{"outer": outerNeedsInner, "inner": strings.ReplaceAll(greetSrc, "greet", "inner")})}
	m := memMind(t, model, func(o *psm.Options) { o.MaxModelCalls = 3 })
	_, err := m.Send(ctx, m.Genesis(), "outer")
	require.ErrorIs(t, err, psm.ErrModelBudget)
	var be *psm.ModelBudgetError
	require.ErrorAs(t, err, &be)
	require.Equal(t, psm.BudgetCycle, be.Budget)
	require.Equal(t, int64(3), model.calls.Load(), "outer's plan and synthesis, inner's plan")
	recs, err := m.Cycles(ctx)
	require.NoError(t, err)
	calls := map[string]int{}
	for _, r := range recs {
		calls[r.Mission.Selector] += r.ModelCalls
	}
	require.Equal(t, map[string]int{"outer": 2, "inner": 1}, calls)
}
