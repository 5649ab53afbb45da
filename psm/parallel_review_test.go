package psm_test

// Parallel cycles under hostile timing: a cycle that runs out of its own
// time, a Mind closed while senders wait for a turn, cycles that install
// each other's methods. Every wait is bounded.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms"
)

// gateModel answers BRICK with a plan and any other persona with the
// source src returns for the selector the synthesis prompt names. A
// synthesis for a selector in hold waits until release is closed (or its
// context ends); entered is closed at the first such call. It counts the
// synthesis calls per selector.
type gateModel struct {
	src     func(sel string) string
	hold    map[string]bool
	release chan struct{}
	entered chan struct{}
	once    sync.Once

	mu    sync.Mutex
	calls map[string]int
}

func newGateModel(src func(string) string, hold ...string) *gateModel {
	g := &gateModel{src: src, hold: map[string]bool{}, release: make(chan struct{}), entered: make(chan struct{}), calls: map[string]int{}}
	for _, h := range hold {
		g.hold[h] = true
	}
	return g
}

func (g *gateModel) GenerateContent(ctx context.Context, msgs []llms.MessageContent, _ ...llms.CallOption) (*llms.ContentResponse, error) {
	reply := func(text string) *llms.ContentResponse {
		return &llms.ContentResponse{Choices: []*llms.ContentChoice{{Content: text, StopReason: "stop"}}}
	}
	if persona.PersonaFrom(ctx) == "BRICK" {
		return reply(`{"queries": ["answering a question"]}`), nil
	}
	m := missionSelector.FindStringSubmatch(persona.PromptText(msgs))
	if m == nil {
		return reply("I do not know which method you want."), nil
	}
	sel := m[1]
	g.mu.Lock()
	g.calls[sel]++
	g.mu.Unlock()
	if g.hold[sel] {
		g.once.Do(func() { close(g.entered) })
		select {
		case <-g.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return reply(code(g.src(sel))), nil
}

func (g *gateModel) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, g, prompt, options...)
}

func (g *gateModel) synthesized(sel string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls[sel]
}

// stallModel never answers: every call waits for its context. It counts
// the calls.
type stallModel struct{ calls atomic.Int64 }

func (s *stallModel) GenerateContent(ctx context.Context, _ []llms.MessageContent, _ ...llms.CallOption) (*llms.ContentResponse, error) {
	s.calls.Add(1)
	<-ctx.Done()
	return nil, ctx.Err()
}

func (s *stallModel) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, s, prompt, options...)
}

// A cycle that runs out of Options.CycleTimeout fails every sender
// waiting on it, at once: the timeout is the cycle's, not its first
// sender's, so the senders waiting on it do not each start a cycle of
// their own (asking the model again, and again running out of time, one
// after the other).
func TestCycleTimeoutFailsEveryWaiterOnce(t *testing.T) {
	const timeout, waiters = 400 * time.Millisecond, 3
	model := &stallModel{}
	m := memMind(t, model, func(o *psm.Options) {
		o.CycleTimeout = timeout
		o.MaxAttempts = 1
	})
	start := time.Now()
	first := sendAsync(ctx, m, "greet")
	require.Eventually(t, func() bool { return model.calls.Load() > 0 }, 10*time.Second, time.Millisecond, "the first cycle asks the model")
	var rest []<-chan sendResult
	for range waiters {
		rest = append(rest, sendAsync(ctx, m, "greet"))
	}
	for i, ch := range append([]<-chan sendResult{first}, rest...) {
		r := await(t, 10*time.Second, fmt.Sprintf("sender %d", i), ch)
		require.ErrorIs(t, r.err, psm.ErrCycleFailed, "sender %d", i)
		require.ErrorIs(t, r.err, context.DeadlineExceeded, "sender %d", i)
	}
	elapsed := time.Since(start)
	got := outcomes(t, m)
	require.Equal(t, map[psm.State]int{psm.Failed: 1}, got, "one cycle, which ran out of time (after %v)", elapsed)
	require.Less(t, elapsed, 2*timeout+time.Second, "every sender failed with the one cycle")
}

// Close while a sender waits for a turn (Options.MaxConcurrentCycles):
// Close waits for the running cycle, but the waiting one does not start
// after Close began: its sender gets ErrClosed, the model is not asked
// for it, and Close returns.
func TestCloseDoesNotStartWaitingCycles(t *testing.T) {
	model := newGateModel(answerSrc, "first")
	m := memMind(t, model, func(o *psm.Options) {
		o.MaxConcurrentCycles = 1
		o.MaxAttempts = 1
	})
	first := sendAsync(ctx, m, "first")
	waitFor(t, 10*time.Second, "the first cycle asks for its method", model.entered)
	second := sendAsync(ctx, m, "second")
	time.Sleep(100 * time.Millisecond) // the second sender waits for a turn
	require.Equal(t, 0, model.synthesized("second"), "one cycle at a time")

	closed := make(chan error, 1)
	go func() { closed <- m.Close() }()
	time.Sleep(100 * time.Millisecond) // Close has begun: it waits for the first cycle
	close(model.release)

	r2 := await(t, 10*time.Second, "the sender waiting for a turn", second)
	require.ErrorIs(t, r2.err, psm.ErrClosed)
	await(t, 10*time.Second, "the first sender", first)
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		require.FailNow(t, "Mind.Close still blocked after 10s")
	}
	require.Equal(t, 0, model.synthesized("second"), "no cycle started after Close")
	require.Equal(t, 1, model.synthesized("first"))
}

var _ = strings.Contains
