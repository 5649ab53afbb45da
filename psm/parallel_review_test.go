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
	sel, planned := missionOf(ctx, msgs)
	if planned != nil {
		return planned, nil
	}
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
	return textReply(code(g.src(sel))), nil
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

// oneCycleAtATime opens a mind that runs one cycle at a time and starts
// the cycle for "first", whose model call waits for model.release.
func oneCycleAtATime(t *testing.T) (*psm.Mind, *gateModel, <-chan sendResult) {
	t.Helper()
	model := newGateModel(answerSrc, "first")
	m := memMind(t, model, func(o *psm.Options) {
		o.MaxConcurrentCycles = 1
		o.MaxAttempts = 1
	})
	first := sendAsync(ctx, m, "first")
	waitFor(t, 10*time.Second, "the first cycle asks for its method", model.entered)
	return m, model, first
}

// Close while a sender waits for a turn (Options.MaxConcurrentCycles):
// Close waits for the running cycle, but the waiting one does not start
// after Close began: its sender gets ErrClosed, the model is not asked
// for it, and Close returns.
func TestCloseDoesNotStartWaitingCycles(t *testing.T) {
	m, model, first := oneCycleAtATime(t)
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

// A sender whose context ends while it waits for a turn returns at once
// with its context's error; a sender of the same message waiting on its
// flight, whose context is live, runs the cycle itself once a turn is
// free; nothing is wedged and nothing half-written.
func TestCancelledWhileWaitingForATurn(t *testing.T) {
	m, model, first := oneCycleAtATime(t)

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	leader := sendAsync(cctx, m, "second")
	time.Sleep(100 * time.Millisecond) // it leads the flight, waiting for a turn
	waiter := sendAsync(ctx, m, "second")
	time.Sleep(100 * time.Millisecond) // it waits on the flight
	cancel()
	r := await(t, 5*time.Second, "the cancelled sender", leader)
	require.ErrorIs(t, r.err, context.Canceled)
	require.Equal(t, 0, model.synthesized("second"), "no cycle for second yet: the first holds the only turn")

	close(model.release)
	r1 := await(t, 10*time.Second, "the first sender", first)
	require.NoError(t, r1.err)
	r2 := await(t, 10*time.Second, "the waiting sender", waiter)
	require.NoError(t, r2.err)
	require.Equal(t, "second", r2.v)
	require.Equal(t, 1, model.synthesized("second"))
	require.Len(t, versions(t, m, "second"), 1)
	require.Equal(t, map[psm.State]int{psm.Complete: 2}, outcomes(t, m), "the cancelled wait left no record")
	closeWithin(t, m, 10*time.Second)
}

// A cycle whose dry run needs a method (nested) while a top-level cycle
// writes that same method: both install it, one after the other. The
// method is installed once (the later install keeps the one committed
// first), every sender is answered, and there is one version.
func TestNestedAndTopLevelCyclesWriteOneMethod(t *testing.T) {
	const decorate = `package m

import (
	"fmt"

	"batos"
)

// decorate wraps what label answers.
func decorate(self batos.Self, args []any) (any, error) {
	v, err := self.Send("label")
	if err != nil {
		return nil, err
	}
	return "<" + fmt.Sprint(v) + ">", nil
}`
	model := &selectorModel{src: func(sel string) string {
		if sel == "decorate" {
			return decorate
		}
		return answerSrc(sel)
	}}
	m := memMind(t, model, func(o *psm.Options) { o.MaxAttempts = 1 })
	// The top-level cycle for label waits at COMPLETE until the nested
	// one (in decorate's dry run) has validated its own label.
	var mu sync.Mutex
	var top, nested string
	validated := make(chan struct{})
	var once sync.Once
	m.Subscribe(func(e psm.Event) {
		mu.Lock()
		if e.State == psm.Idle && e.Kind == psm.EventState && strings.Contains(e.Text, `"label"`) {
			if strings.Contains(e.Text, "nested in") {
				nested = e.Cycle
			} else {
				top = e.Cycle
			}
		}
		isTop, isNested := e.Cycle == top, e.Cycle == nested
		mu.Unlock()
		switch {
		case isNested && strings.HasPrefix(e.Text, "validated; installs when"):
			once.Do(func() { close(validated) })
		case isTop && e.Kind == psm.EventState && e.State == psm.Complete:
			select {
			case <-validated:
			case <-time.After(10 * time.Second):
			}
		}
	})
	label := sendAsync(ctx, m, "label")
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return top != "" }, 10*time.Second, time.Millisecond)
	deco := sendAsync(ctx, m, "decorate")
	waitFor(t, 20*time.Second, "the nested cycle for label validates", validated)
	r := await(t, 20*time.Second, "decorate", deco)
	require.NoError(t, r.err)
	require.Equal(t, "<label>", r.v)
	r = await(t, 20*time.Second, "label", label)
	require.NoError(t, r.err)
	require.Equal(t, "label", r.v)

	require.Len(t, versions(t, m, "decorate"), 1)
	require.Len(t, versions(t, m, "label"), 1, "label installed once")
	recs, err := m.Cycles(ctx)
	require.NoError(t, err)
	require.Len(t, recs, 3)
	for _, r := range recs {
		require.Equal(t, psm.Complete, r.Outcome, "%s depth %d", r.Mission.Selector, r.Depth)
		require.Equal(t, 1, r.Version, "%s depth %d: the version installed", r.Mission.Selector, r.Depth)
	}
	closeWithin(t, m, 10*time.Second)
}

// A cycle's compile and dry runs need a worker of their own (Live
// policy isolated, the default), also a nested cycle's inside its outer
// cycle's dry run, which holds a worker while it waits. With one worker
// at most, the nested cycle still gets one: the outer dry run's worker
// is suspended meanwhile, so it does not count against Live.MaxWorkers.
func TestNestedCycleWithOneWorker(t *testing.T) {
	m := memMind(t, persona.NewScripted(nestedReplies()), func(o *psm.Options) {
		o.Live.Workers = 1
		o.Live.MaxWorkers = 1
	})
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	r := await(t, 20*time.Second, "a cycle with a nested one, on one worker", sendAsync(sctx, m, "outer"))
	require.NoError(t, r.err)
	require.Equal(t, "outer+inner", r.v)
}

// Senders of an installed method that sends a message nothing answers
// each hold a worker while they wait for the cycle writing it. When
// they hold all Live.MaxWorkers workers, the cycle still gets one for
// its compile and dry runs, and every sender is answered.
func TestSendersHoldingEveryWorkerDoNotStarveTheCycle(t *testing.T) {
	const workers = 2
	const relay = `package m

import "batos"

// relay sends the message args[0] names.
func relay(self batos.Self, args []any) (any, error) {
	if len(args) == 0 {
		return "idle", nil
	}
	sel, _ := args[0].(string)
	return self.Send(sel)
}`
	model := newGateModel(func(string) string { return greetSrc }, "greet")
	m := memMind(t, model, func(o *psm.Options) {
		o.MaxAttempts = 1
		o.Live.Workers = 1
		o.Live.MaxWorkers = workers
	})
	_, err := m.Install(ctx, m.Genesis(), "relay", relay)
	require.NoError(t, err)

	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var senders []<-chan sendResult
	for range workers {
		senders = append(senders, sendAsync(sctx, m, "relay", "greet"))
	}
	waitFor(t, 10*time.Second, "the cycle asks for greet", model.entered)
	time.Sleep(300 * time.Millisecond) // every sender holds a worker, waiting
	close(model.release)
	for i, ch := range senders {
		r := await(t, 20*time.Second, fmt.Sprintf("sender %d", i), ch)
		require.NoError(t, r.err, "sender %d", i)
		require.Equal(t, "hello, architect", r.v, "sender %d", i)
	}
	require.Equal(t, 1, model.synthesized("greet"), "one cycle")
}
