package psm_test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/batos-dev/batos/psm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lingering makes the first cycle of m to fail linger: the subscriber,
// which runs on the cycle's goroutine, holds it at its FAILED event until
// linger is closed, as a slow subscriber or a slow final save does.
// failing is closed when the cycle gets there.
type lingering struct {
	failing, linger chan struct{}
	once            sync.Once
}

func lingerOnFailure(m *psm.Mind) *lingering {
	l := &lingering{failing: make(chan struct{}), linger: make(chan struct{})}
	m.Subscribe(func(e psm.Event) {
		if e.State == psm.Failed {
			l.once.Do(func() {
				close(l.failing)
				<-l.linger
			})
		}
	})
	return l
}

// abandon starts a cycle for sel whose only sender gives up while the
// model writes; it returns once the cycle, cancelled, is failing (and
// held there by l), with the sender's result.
func abandon(t *testing.T, m *psm.Mind, model *gateModel, l *lingering, sel string) <-chan sendResult {
	t.Helper()
	actx, cancel := context.WithCancel(ctx)
	first := sendAsync(actx, m, sel)
	waitFor(t, 10*time.Second, "the first cycle asks the model", model.entered)
	cancel()
	waitFor(t, 10*time.Second, "the cycle fails, its only sender gone", l.failing)
	return first
}

// A sender that comes while a cycle every sender has left winds down is
// not failed by it: once that cycle has ended, it runs a cycle of its own
// and gets the method. The sender that left gets its cancellation.
func TestFlightJoinerOfAbandonedCycleGetsMethod(t *testing.T) {
	model := newGateModel(answerSrc, "greet")
	m := memMind(t, model, func(o *psm.Options) { o.MaxAttempts = 1 })
	l := lingerOnFailure(m)
	first := abandon(t, m, model, l, "greet")

	second := sendAsync(ctx, m, "greet")
	time.Sleep(100 * time.Millisecond) // it joins the abandoned flight
	select {
	case r := <-first:
		require.FailNowf(t, "early", "the last sender to leave returned before its cycle ended: %v", r.err)
	default:
	}
	close(model.release) // the next cycle's synthesis is not held
	close(l.linger)

	r1 := await(t, 10*time.Second, "the sender that left", first)
	require.ErrorIs(t, r1.err, context.Canceled)
	r2 := await(t, 10*time.Second, "the sender that came later", second)
	require.NoError(t, r2.err)
	assert.Equal(t, "greet", r2.v)
	assert.Equal(t, 2, model.synthesized("greet"), "the abandoned cycle's call and the second sender's cycle's")
	assert.Equal(t, map[psm.State]int{psm.Failed: 1, psm.Complete: 1}, outcomes(t, m))
}

// Close while a cycle every sender has left still winds down waits for
// it: Close returns after the cycle has ended and its record is closed,
// and the sender's send has returned.
func TestFlightCloseWaitsForAbandonedCycle(t *testing.T) {
	model := newGateModel(answerSrc, "greet")
	m := memMind(t, model, func(o *psm.Options) { o.MaxAttempts = 1 })
	l := lingerOnFailure(m)
	var mu sync.Mutex
	var ended bool
	m.Subscribe(func(e psm.Event) {
		if e.State == psm.Failed {
			mu.Lock()
			ended = true
			mu.Unlock()
		}
	})
	first := abandon(t, m, model, l, "greet")

	closed := make(chan error, 1)
	go func() { closed <- m.Close() }()
	select {
	case err := <-closed:
		require.FailNowf(t, "early", "Close returned while the cycle ran: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(l.linger)
	r1 := await(t, 10*time.Second, "the sender that left", first)
	require.ErrorIs(t, r1.err, context.Canceled)
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		require.FailNow(t, "Close still blocked")
	}
	mu.Lock()
	defer mu.Unlock()
	assert.True(t, ended, "the cycle ended (FAILED) before Close returned")
}

// Cycles every sender left leave no goroutine behind: what a cycle's
// context spawns ends with it.
func TestFlightAbandonedCyclesLeakNoGoroutines(t *testing.T) {
	m := memMind(t, &stallModel{}, func(o *psm.Options) { o.MaxAttempts = 1 })
	wctx, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
	_, err := m.Send(wctx, m.Genesis(), "warm") // everything started once
	cancel()
	require.Error(t, err)
	time.Sleep(200 * time.Millisecond)
	base := runtime.NumGoroutine()
	for range 5 {
		sctx, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
		_, err := m.Send(sctx, m.Genesis(), "stall")
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded)
	}
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= base+2 }, 5*time.Second, 20*time.Millisecond,
		"goroutines: %d, %d before", runtime.NumGoroutine(), base)
}

// A sender that joined a cycle every sender had already left, and whose
// own context ends while that cycle winds down, returns at once with its
// own context's error: it did not cancel the cycle, and the sender that
// did still waits for it to close its record.
func TestFlightLateJoinerGivesUpAtOnce(t *testing.T) {
	model := newGateModel(answerSrc, "greet")
	m := memMind(t, model, func(o *psm.Options) { o.MaxAttempts = 1 })
	l := lingerOnFailure(m)
	first := abandon(t, m, model, l, "greet")
	defer close(l.linger)

	bctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	second := sendAsync(bctx, m, "greet")
	r2 := await(t, 5*time.Second, "the late sender whose deadline passed", second)
	require.ErrorIs(t, r2.err, context.DeadlineExceeded, "its own context's error")
	select {
	case r := <-first:
		require.FailNowf(t, "early", "the sender that cancelled the cycle returned before it ended: %v", r.err)
	default:
	}
}
