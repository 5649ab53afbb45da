package psm_test

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batos-dev/batos/memory"
	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms"
)

// Helpers of psm's external tests. They use the public API only, so that
// the tests survive rewrites of the cycle's internals.

// within runs fn on a goroutine and fails the test if it has not returned
// after d, so that a hang fails the test instead of hanging it. fn must not
// call t.FailNow (require): record what it observed and assert afterwards.
func within(t *testing.T, d time.Duration, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(d):
		require.FailNowf(t, "a hang", "%s: still running after %v", what, d)
	}
}

// sendResult is what one Send returned.
type sendResult struct {
	v   any
	err error
}

// sendAsync sends to genesis on a goroutine; the answer arrives on the
// channel.
func sendAsync(ctx context.Context, m *psm.Mind, sel string, args ...any) <-chan sendResult {
	return sendAsyncTo(ctx, m, m.Genesis(), sel, args...)
}

// sendAsyncTo sends to oid on a goroutine.
func sendAsyncTo(ctx context.Context, m *psm.Mind, oid uvm.OID, sel string, args ...any) <-chan sendResult {
	out := make(chan sendResult, 1)
	go func() {
		v, err := m.Send(ctx, oid, sel, args...)
		out <- sendResult{v, err}
	}()
	return out
}

// descendant commits a chain of n objects, each delegating to the one
// before, and returns the last. Every lookup on it walks the whole chain,
// which makes looking for a method take a while.
func descendant(t *testing.T, m *psm.Mind, n int) uvm.OID {
	t.Helper()
	var oid uvm.OID
	require.NoError(t, m.Image().Update(ctx, func(tx *uvm.Tx) error {
		prev, err := tx.New()
		if err != nil {
			return err
		}
		for range n {
			o, err := tx.New()
			if err != nil {
				return err
			}
			if err := o.SetParents(prev); err != nil {
				return err
			}
			prev = o
		}
		oid = prev.OID()
		return nil
	}))
	return oid
}

// await waits at most d for a send's result.
func await(t *testing.T, d time.Duration, what string, ch <-chan sendResult) sendResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(d):
		require.FailNowf(t, "a hang", "%s: no answer after %v", what, d)
		return sendResult{}
	}
}

// waitFor waits at most d for ch to be closed.
func waitFor(t *testing.T, d time.Duration, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(d):
		require.FailNowf(t, "too late", "%s: did not happen within %v", what, d)
	}
}

// memMind opens an in-memory mind; cleanup closes it, bounded.
func memMind(t *testing.T, model llms.Model, mod func(*psm.Options)) *psm.Mind {
	t.Helper()
	opts := psm.Options{Model: model, InMemory: true}
	if mod != nil {
		mod(&opts)
	}
	m, err := psm.Open(ctx, "", opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		done := make(chan error, 1)
		go func() { done <- m.Close() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			assert.Fail(t, "Mind.Close still blocked after 10s at cleanup")
		}
	})
	return m
}

// closeWithin closes the mind and fails the test if Close blocks longer
// than d or fails.
func closeWithin(t *testing.T, m *psm.Mind, d time.Duration) {
	t.Helper()
	var err error
	within(t, d, "Mind.Close", func() { err = m.Close() })
	require.NoError(t, err, "Mind.Close")
}

// versions returns the installed versions of sel on genesis.
func versions(t *testing.T, m *psm.Mind, sel string) []uvm.Method {
	t.Helper()
	return versionsOn(t, m, m.Genesis(), sel)
}

// versionsOn returns the installed versions of sel on oid.
func versionsOn(t *testing.T, m *psm.Mind, oid uvm.OID, sel string) []uvm.Method {
	t.Helper()
	var out []uvm.Method
	require.NoError(t, m.Image().View(ctx, func(tx *uvm.Tx) error {
		g, err := tx.Object(oid)
		if err != nil {
			return err
		}
		out, err = tx.MethodVersions(g, sel)
		return err
	}))
	return out
}

// outcomes counts the cycle records by outcome ("" for a record that
// never ended).
func outcomes(t *testing.T, m *psm.Mind) map[psm.State]int {
	t.Helper()
	recs, err := m.Cycles(ctx)
	require.NoError(t, err)
	out := map[psm.State]int{}
	for _, r := range recs {
		out[r.Outcome]++
	}
	return out
}

// requireFailedRecord checks that a record tells a complete failure:
// outcome FAILED, the failed state, the error, the end time and the
// closing outcome event.
func requireFailedRecord(t *testing.T, rec psm.Record, failedIn psm.State) {
	t.Helper()
	require.Equal(t, psm.Failed, rec.Outcome, "outcome")
	require.Equal(t, failedIn, rec.FailedIn, "failed in")
	require.Equal(t, psm.Failed, rec.State, "latest state")
	require.NotEmpty(t, rec.Error, "error")
	require.False(t, rec.Ended.IsZero(), "end time")
	require.False(t, rec.Ended.Before(rec.Started), "ended %v before it started %v", rec.Ended, rec.Started)
	require.NotEmpty(t, rec.Events)
	last := rec.Events[len(rec.Events)-1]
	require.Equal(t, psm.EventOutcome, last.Kind, "last event")
	require.Equal(t, psm.Failed, last.State, "last event's state")
}

// panicModel is a model whose every call panics, after holding the first
// call back for hold (or until the call ends), so that a second sender
// can join the cycle it belongs to. entered is closed at the first call.
type panicModel struct {
	hold    time.Duration
	once    sync.Once
	entered chan struct{}
}

func newPanicModel(hold time.Duration) *panicModel {
	return &panicModel{hold: hold, entered: make(chan struct{})}
}

func (p *panicModel) GenerateContent(ctx context.Context, _ []llms.MessageContent, _ ...llms.CallOption) (*llms.ContentResponse, error) {
	first := false
	p.once.Do(func() { first = true; close(p.entered) })
	if first {
		select {
		case <-time.After(p.hold):
		case <-ctx.Done():
		}
	}
	panic("a model with a bug")
}

func (p *panicModel) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, p, prompt, options...)
}

// panicEmbedder is the offline embedder, except that it panics on any text
// holding trigger, after holding the first such call back for hold. The
// cycle calls it itself (memory search in DELEGATING), so its panic
// reaches the cycle rather than a model wrapper.
type panicEmbedder struct {
	trigger string
	hold    time.Duration
	once    sync.Once
	entered chan struct{}
}

func (p *panicEmbedder) embedder() memory.Embedder {
	off := memory.OfflineEmbedder(0)
	p.entered = make(chan struct{})
	return memory.Embedder{
		Name:       off.Name,
		Dimensions: off.Dimensions,
		Embed: func(ctx context.Context, text string) ([]float32, error) {
			if !strings.Contains(text, p.trigger) {
				return off.Embed(ctx, text)
			}
			first := false
			p.once.Do(func() { first = true; close(p.entered) })
			if first {
				select {
				case <-time.After(p.hold):
				case <-ctx.Done():
				}
			}
			panic("an embedder with a bug")
		},
	}
}

// routeModel answers by persona and mission rather than in script order,
// for tests where cycles run concurrently: BRICK gets a plan; any other
// persona gets the source in src for the first selector of sels the prompt
// names (as a quoted string). Before answering a synthesis for a selector
// in gate, it waits (at most a few seconds) until every selector in gate
// has asked, so that those cycles overlap.
type routeModel struct {
	src  map[string]string
	gate map[string]bool

	mu      sync.Mutex
	arrived map[string]bool
	all     chan struct{}
}

func newRouteModel(src map[string]string, gate ...string) *routeModel {
	r := &routeModel{src: src, gate: map[string]bool{}, arrived: map[string]bool{}, all: make(chan struct{})}
	for _, g := range gate {
		r.gate[g] = true
	}
	return r
}

func (r *routeModel) GenerateContent(ctx context.Context, msgs []llms.MessageContent, _ ...llms.CallOption) (*llms.ContentResponse, error) {
	if persona.PersonaFrom(ctx) == "BRICK" {
		return textReply(`{"queries": ["sending messages"]}`), nil
	}
	prompt := persona.PromptText(msgs)
	sel, at := "", len(prompt)
	for s := range r.src {
		if i := strings.Index(prompt, `"`+s+`"`); i >= 0 && i < at {
			sel, at = s, i
		}
	}
	if sel == "" {
		return textReply("I do not know which method you want."), nil
	}
	if r.gate[sel] {
		r.mu.Lock()
		if !r.arrived[sel] {
			r.arrived[sel] = true
			if len(r.arrived) == len(r.gate) {
				close(r.all)
			}
		}
		r.mu.Unlock()
		select {
		case <-r.all:
		case <-time.After(5 * time.Second):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return textReply(code(r.src[sel])), nil
}

func (r *routeModel) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, r, prompt, options...)
}

// selectorModel answers at once, for cycles that run concurrently: BRICK
// gets a plan, any other persona the source src returns for the selector
// the synthesis prompt names.
type selectorModel struct {
	src   func(sel string) string
	calls atomic.Int64
}

var missionSelector = regexp.MustCompile(`received the message "([A-Za-z0-9_]+)"`)

// textReply is a model's whole answer: text.
func textReply(text string) *llms.ContentResponse {
	return &llms.ContentResponse{Choices: []*llms.ContentChoice{{Content: text, StopReason: "stop"}}}
}

// missionOf is what the selector-driven test models share: BRICK gets a
// plan, and a prompt that names no mission a refusal (planned is the
// reply then); otherwise sel is the selector the synthesis prompt names.
func missionOf(ctx context.Context, msgs []llms.MessageContent) (sel string, planned *llms.ContentResponse) {
	if persona.PersonaFrom(ctx) == "BRICK" {
		return "", textReply(`{"queries": ["answering a question"]}`)
	}
	m := missionSelector.FindStringSubmatch(persona.PromptText(msgs))
	if m == nil {
		return "", textReply("I do not know which method you want.")
	}
	return m[1], nil
}

func (s *selectorModel) GenerateContent(ctx context.Context, msgs []llms.MessageContent, _ ...llms.CallOption) (*llms.ContentResponse, error) {
	s.calls.Add(1)
	sel, planned := missionOf(ctx, msgs)
	if planned != nil {
		return planned, nil
	}
	return textReply(code(s.src(sel))), nil
}

func (s *selectorModel) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, s, prompt, options...)
}

// nestedReplies script two cycles: outer, whose method sends inner, and
// the nested cycle that writes inner. outer answers "outer+inner".
func nestedReplies() []persona.Reply {
	outer := `package m

import "batos"

// outer asks inner and decorates its answer.
func outer(self batos.Self, args []any) (any, error) {
	v, err := self.Send("inner")
	if err != nil {
		return nil, err
	}
	s, _ := v.(string)
	return "outer+" + s, nil
}`
	inner := `package m

import "batos"

func inner(self batos.Self, args []any) (any, error) {
	return "inner", nil
}`
	return []persona.Reply{
		plan("outer"), {Expect: "outer", Text: code(outer)},
		plan("inner"), {Expect: "inner", Text: code(inner)},
	}
}
