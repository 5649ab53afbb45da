package psm_test

// Senders and cycles at the same time, through the public API only: a
// waiter outlives its leader's cancellation, cycles that need each other
// never deadlock, and concurrent senders install once. Every wait is
// bounded: a hang fails the test instead of hanging it.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm/live"
	"github.com/stretchr/testify/require"
)

// The first sender's cancellation is not the second sender's failure:
// the cycle goes on for the second, whose context is live, and it gets
// the method's answer from that one cycle (no second cycle, no model
// call again), whether the first was cancelled or ran out of time, and in
// whichever state.
func TestWaiterOutlivesLeadersCancellation(t *testing.T) {
	const slow = 2 * time.Second // the model's reply comes after the first sender has gone
	cases := []struct {
		name  string
		first []persona.Reply // the one cycle's replies
		in    psm.State       // where the cycle is when the second sender comes
		// lead returns the first sender's context and how it ends.
		lead func() (context.Context, context.CancelFunc, func())
		want error
	}{
		{
			name:  "cancelled while synthesizing",
			first: []persona.Reply{plan("greeting"), {Persona: "ALFRED", Delay: slow, Text: code(greetSrc)}}, in: psm.Synthesizing,
			lead: func() (context.Context, context.CancelFunc, func()) {
				c, cancel := context.WithCancel(ctx)
				return c, cancel, cancel
			},
			want: context.Canceled,
		},
		{
			name:  "out of time while decomposing",
			first: []persona.Reply{{Persona: "BRICK", Delay: slow, Text: `{"queries": ["greeting"]}`}, {Persona: "ALFRED", Text: code(greetSrc)}}, in: psm.Decomposing,
			lead: func() (context.Context, context.CancelFunc, func()) {
				c, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
				return c, cancel, func() {} // its deadline ends it
			},
			want: context.DeadlineExceeded,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			model := persona.NewScripted(tc.first)
			m := memMind(t, model, func(o *psm.Options) { o.MaxAttempts = 1 })
			reached := make(chan struct{})
			var once sync.Once
			m.Subscribe(func(e psm.Event) {
				if e.Kind == psm.EventPrompt && e.State == tc.in {
					once.Do(func() { close(reached) })
				}
			})

			lctx, cancel, end := tc.lead()
			defer cancel()
			first := sendAsync(lctx, m, "greet")
			waitFor(t, 10*time.Second, "the first cycle reaches "+string(tc.in), reached)
			wctx, wcancel := context.WithTimeout(ctx, time.Minute) // live for far longer than the test waits
			defer wcancel()
			second := sendAsync(wctx, m, "greet")
			time.Sleep(100 * time.Millisecond) // the second sender joins the first's cycle
			end()

			r1 := await(t, slow, "the first sender, which stops waiting at once", first)
			require.ErrorIs(t, r1.err, tc.want, "the first sender's own end")
			r2 := await(t, 20*time.Second, "the second sender", second)
			require.NoError(t, r2.err, "the second sender's context is live (its Err: %v)", wctx.Err())
			require.Equal(t, "hello, architect", r2.v)
			require.Len(t, versions(t, m, "greet"), 1)
			require.Equal(t, map[psm.State]int{psm.Complete: 1}, outcomes(t, m), "one cycle, not cancelled")
		})
	}
}

// Two cycles whose dry runs need each other's method, running at the same
// time on two goroutines, both end within a bound: a nested send never
// waits on another goroutine's cycle.
func TestCrossNestedSendsNeverDeadlock(t *testing.T) {
	src := func(sel, other string) string {
		return fmt.Sprintf(`package m

import (
	"fmt"

	"batos"
)

// %[1]s needs %[2]s.
func %[1]s(self batos.Self, args []any) (any, error) {
	v, err := self.Send(%[2]q)
	if err != nil {
		return nil, err
	}
	return "%[1]s+" + fmt.Sprint(v), nil
}`, sel, other)
	}
	model := newRouteModel(map[string]string{"ping": src("ping", "pong"), "pong": src("pong", "ping")}, "ping", "pong")
	m := memMind(t, model, func(o *psm.Options) {
		o.MaxAttempts = 1
		o.Live.Timeout = time.Minute // a deadlock must show as one, not as a call timeout
	})
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	start := time.Now()
	ping, pong := sendAsync(sctx, m, "ping"), sendAsync(sctx, m, "pong")
	for _, x := range []struct {
		sel string
		ch  <-chan sendResult
	}{{"ping", ping}, {"pong", pong}} {
		r := await(t, 15*time.Second, x.sel, x.ch)
		t.Logf("%s after %v: %v, %v", x.sel, time.Since(start).Round(time.Millisecond), r.v, r.err)
		require.NotErrorIs(t, r.err, context.DeadlineExceeded, x.sel)
		require.NotErrorIs(t, r.err, live.ErrBudget, x.sel)
		if r.err != nil {
			require.ErrorIs(t, r.err, psm.ErrCycleFailed, "%s: a clear error", x.sel)
		}
	}
	closeWithin(t, m, 10*time.Second)
}

// Many senders of one unknown selector, some arriving while the method is
// being installed, run one cycle: one version, one record, every sender
// answered. A sender that looked for the method just before the install
// committed and joins just after the cycle ended must not start a second
// cycle. To widen that window the later rounds send to an object at the
// end of a long delegation chain, where looking for a method takes
// milliseconds.
func TestConcurrentSendsInstallOnce(t *testing.T) {
	const rounds, early, late = 6, 4, 24
	const lateEvery, installHold = 400 * time.Microsecond, 5 * time.Millisecond
	replies := []persona.Reply{}
	for i := range rounds {
		sel := fmt.Sprintf("greet_%d", i)
		replies = append(replies, plan("greeting"), persona.Reply{
			Persona: "ALFRED", Expect: fmt.Sprintf("%q", sel), Delay: 30 * time.Millisecond,
			Text: code(strings.ReplaceAll(greetSrc, "greet", sel)),
		})
	}
	// A second cycle for any selector would find the script exhausted
	// and fail its senders.
	m := memMind(t, persona.NewScripted(replies), func(o *psm.Options) {
		o.MaxAttempts = 1
		o.Live.Policy = psm.PolicyInProcess // answering 28 senders needs no 28 workers
	})
	deep := descendant(t, m, 2000)
	for i := range rounds {
		sel := fmt.Sprintf("greet_%d", i)
		target := m.Genesis()
		if i > 0 {
			target = deep
		}
		var mu sync.Mutex
		var results []<-chan sendResult
		spawn := func() {
			mu.Lock()
			results = append(results, sendAsyncTo(ctx, m, target, sel))
			mu.Unlock()
		}
		// Late senders start when the cycle enters COMPLETE, spread over
		// the install, so that some look for the method just before it
		// is committed and join just after the cycle ended. The cycle
		// waits a moment (subscribers run on its goroutine) so that the
		// install commits while the first of them are looking.
		lateDone := make(chan struct{})
		var once sync.Once
		unsub := m.Subscribe(func(e psm.Event) {
			if e.Kind == psm.EventState && e.State == psm.Complete {
				once.Do(func() {
					go func() {
						defer close(lateDone)
						for range late {
							spawn()
							time.Sleep(lateEvery)
						}
					}()
					time.Sleep(installHold)
				})
			}
		})
		for range early {
			spawn()
		}
		waitFor(t, 20*time.Second, "the cycle reaches COMPLETE", lateDone)
		unsub()
		mu.Lock()
		all := results
		mu.Unlock()
		require.Len(t, all, early+late)
		for j, ch := range all {
			r := await(t, 20*time.Second, fmt.Sprintf("%s sender %d", sel, j), ch)
			require.NoError(t, r.err, "%s sender %d", sel, j)
			require.Equal(t, "hello, architect", r.v, "%s sender %d", sel, j)
		}
		require.Len(t, versionsOn(t, m, target, sel), 1, "%s: one installed version", sel)
	}
	got := outcomes(t, m)
	require.Equal(t, map[psm.State]int{psm.Complete: rounds}, got, "one cycle per selector")
}
