package psm

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/uvm/live"
)

// Model calls cost money and time, and generated code can make them (the
// infer primitive), so they are budgeted twice:
//
//   - per cycle (Options.MaxModelCalls): every request a model receives
//     for a cycle, from every persona, in every attempt, retries included,
//     with the infer sends of its dry runs and the calls of the cycles
//     nested in it, which share the budget of the outermost one;
//   - per top-level call of a generated method (Options.MaxInferCalls):
//     the infer sends of the call and of the sends nested in it (a
//     live.Scope), in a cycle's dry run as after install.
//
// A call is refused before it is made when a budget is spent, and the
// retries a call may make are cut to what the budgets have left. A
// refused infer also fails the generated method's whole call (live.Scope
// Fail), so a method that loops on infer and ignores the errors still
// ends with the budget's error.

// ErrModelBudget is returned (as a *ModelBudgetError) when a cycle, or a
// top-level call of a generated method, would make more model calls than
// its budget allows (Options.MaxModelCalls, Options.MaxInferCalls).
var ErrModelBudget = errors.New("psm: model-call budget exhausted")

// Budget kinds of a ModelBudgetError.
const (
	BudgetCycle = "cycle" // Options.MaxModelCalls
	BudgetCall  = "call"  // Options.MaxInferCalls
)

// ModelBudgetError reports a model call refused because its budget was
// spent. It matches ErrModelBudget.
type ModelBudgetError struct {
	// Method names what spent the budget: for BudgetCall the generated
	// method whose top-level call it is (`"summarize" v3`, or
	// `"summarize" (candidate)` in a dry run); for BudgetCycle the
	// selector the cycle writes, quoted.
	Method string
	Budget string // BudgetCycle or BudgetCall
	Limit  int    // the budget, in model calls
	Cycle  string // the cycle, for BudgetCycle
}

func (e *ModelBudgetError) Error() string {
	if e.Budget == BudgetCycle {
		return fmt.Sprintf("psm: cycle %s writing %s has spent its model-call budget: %d calls, with its nested cycles and the infer sends of its dry runs (Options.MaxModelCalls)", e.Cycle, e.Method, e.Limit)
	}
	if e.Limit == 0 {
		return fmt.Sprintf("psm: method %s may not call a model: generated methods may not infer (Options.MaxInferCalls)", e.Method)
	}
	return fmt.Sprintf("psm: method %s has spent its model-call budget: %d infer calls per call, with the sends nested in it (Options.MaxInferCalls)", e.Method, e.Limit)
}

// Is reports whether target is ErrModelBudget.
func (e *ModelBudgetError) Is(target error) bool { return target == ErrModelBudget }

// inferCounter names the live.Scope counter of model calls.
const inferCounter = "psm.model_calls"

// modelCalls is the model-call budget of an outermost cycle, shared with
// the cycles nested in it.
type modelCalls struct {
	limit int // negative: none

	mu   sync.Mutex
	used int
}

// left returns the calls the budget has left, and false when it has none.
func (b *modelCalls) left() (int, bool) {
	if b == nil || b.limit < 0 {
		return -1, true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.limit - b.used, b.used < b.limit
}

func (b *modelCalls) add() {
	if b != nil {
		b.mu.Lock()
		b.used++
		b.mu.Unlock()
	}
}

// Defaults of the model-call budgets.
const (
	DefaultMaxModelCalls = 64
	DefaultMaxInferCalls = 4
)

// maxModelCalls is the per-cycle budget; negative means none.
func (o *Options) maxModelCalls() int {
	if o.MaxModelCalls == 0 {
		return DefaultMaxModelCalls
	}
	return o.MaxModelCalls
}

// maxInferCalls is the per-call budget of generated code.
func (o *Options) maxInferCalls() int {
	switch {
	case o.MaxInferCalls == 0:
		return DefaultMaxInferCalls
	case o.MaxInferCalls < 0:
		return 0
	}
	return o.MaxInferCalls
}

// retries is how many retries the personas' limits give a model call.
func (o *Options) retries() int {
	switch n := o.Personas.Limits.MaxRetries; {
	case n == 0:
		return persona.DefaultMaxRetries
	case n < 0:
		return 0
	default:
		return n
	}
}

// askModel asks the persona's model, charging every request the model
// receives (each attempt of the call) to the budgets in force: the
// cycle's, when c is not nil, and the generated-method call's, when scope
// is not nil. The cycle's record counts the requests and their tokens, and
// records each retry. A spent budget refuses the call before it is made,
// and fails scope's call.
func (m *Mind) askModel(ctx context.Context, c *cycle, scope *live.Scope, name, prompt string) (string, error) {
	retries := m.opts.retries()
	refuse := func(err *ModelBudgetError) (string, error) {
		if scope != nil {
			scope.Fail(err)
		}
		return "", err
	}
	if scope != nil {
		limit := m.opts.maxInferCalls()
		left := limit - int(scope.Count(inferCounter))
		if left <= 0 {
			return refuse(&ModelBudgetError{Method: scope.Method(), Budget: BudgetCall, Limit: limit})
		}
		retries = min(retries, left-1)
	}
	if c != nil {
		left, ok := c.calls.left()
		if !ok {
			return refuse(&ModelBudgetError{Method: fmt.Sprintf("%q", c.mission.Selector), Budget: BudgetCycle, Limit: c.calls.limit, Cycle: c.id})
		}
		if left >= 0 {
			retries = min(retries, left-1)
		}
	}
	observe := func(a persona.Attempt) {
		if scope != nil {
			scope.Add(inferCounter, 1)
		}
		if c == nil {
			return
		}
		c.calls.add()
		c.update(func(r *Record) {
			r.ModelCalls++
			r.PromptTokens += a.Usage.PromptTokens
			r.CompletionTokens += a.Usage.CompletionTokens
		})
		if a.Retry {
			e := Event{Kind: EventRetry, Persona: a.Persona, Text: fmt.Sprintf("model call attempt %d failed; attempt %d follows in %s", a.N, a.N+1, a.Wait.Round(time.Millisecond))}
			if a.Err != nil {
				e.Error = a.Err.Error()
			}
			c.event(ctx, e)
		}
	}
	opts := []persona.AskOption{persona.WithObserver(observe)}
	if retries < m.opts.retries() {
		opts = append(opts, persona.WithRetries(retries))
	}
	return m.personas.Ask(ctx, name, prompt, opts...)
}

// infer answers the pLLM infer primitive: a model call made by a generated
// method (or by host code), within the budgets of the call and of the
// cycle whose dry run it is part of, if any.
func (m *Mind) infer(ctx context.Context, name, prompt string) (any, error) {
	return m.askModel(ctx, cycleOf(ctx), live.ScopeOf(ctx), name, prompt)
}
