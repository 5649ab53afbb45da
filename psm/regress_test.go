package psm_test

// Regression tests of the cognitive cycle, through the public API only
// (Open, Send, Cycle(s), Subscribe, Image): each guards a failure found in
// review, so each must fail when the behaviour it guards is removed. Every
// wait is bounded: a hang fails the test instead of hanging it.

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batos-dev/batos/guardian"
	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live"
	"github.com/stretchr/testify/require"
)

// crashSrc passes the guardian but kills the worker that runs it: with the
// depth budget lifted (Options.Live.MaxDepth) its recursion outgrows the
// worker's stack (Options.Live.WorkerStack), which is a fatal error of the
// Go runtime, not a panic.
const crashSrc = `package m

import "batos"

func deep(n int64) int64 {
	if n == 0 {
		return 0
	}
	return deep(n-1) + 1
}

// crash recurses far deeper than any worker's stack allows.
func crash(self batos.Self, args []any) (any, error) {
	return deep(10000000), nil
}`

// A worker that dies during the dry run fails the cycle in VALIDATING with
// the worker's death as the cause, leaves the image as it was (but for the
// record, which is complete), and the next cycle gets a fresh worker.
func TestRegressWorkerCrashDuringDryRun(t *testing.T) {
	_, err := guardian.Audit([]byte(crashSrc), "crash", guardian.Options{})
	require.NoError(t, err, "the guardian must accept the crashing source, or this test proves nothing")
	script := persona.NewScripted([]persona.Reply{
		plan("recursion"),
		{Persona: "ALFRED", Expect: `"crash"`, Text: code(crashSrc)},
		{Persona: "ALFRED", Expect: `"crash"`, Text: code(crashSrc)},
		plan("greeting"),
		{Persona: "ALFRED", Expect: `"greet"`, Text: code(greetSrc)},
	})
	m := memMind(t, script, func(o *psm.Options) {
		o.MaxAttempts = 2
		o.Live.MaxDepth = 1 << 30      // the depth budget would stop the recursion cleanly
		o.Live.WorkerStack = 256 << 10 // so the worker dies quickly
		o.Live.MaxWorkers = 2          // as many as there are crashes
	})
	before := unchanged(t, m)

	var answer any
	within(t, 30*time.Second, "send crash", func() { answer, err = m.Send(ctx, m.Genesis(), "crash") })
	require.Nil(t, answer)
	require.ErrorIs(t, err, psm.ErrCycleFailed)
	var ce *psm.CycleError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, psm.Validating, ce.State, "got state %s, want VALIDATING: %v", ce.State, err)
	require.Equal(t, "crash", ce.Selector)
	require.Equal(t, 2, ce.Attempts, "every attempt crashed")
	var we *live.WorkerError
	require.ErrorAs(t, err, &we, "the cause is the worker's death: %v", err)
	require.ErrorIs(t, err, live.ErrWorker)
	require.Equal(t, "stack", we.Resource, "got resource %q, want stack: %v", we.Resource, we)
	require.Equal(t, before, unchanged(t, m), "the image is unchanged but for the record")
	require.Empty(t, versions(t, m, "crash"))

	rec, err := m.Cycle(ctx, ce.CycleID)
	require.NoError(t, err)
	requireFailedRecord(t, rec, psm.Validating)
	require.Equal(t, 2, rec.Attempts)
	var crashes int
	for _, e := range rec.Events {
		if e.Kind == psm.EventVerdict && strings.Contains(e.Error, "worker") {
			crashes++
		}
	}
	require.Equal(t, 2, crashes, "one verdict naming the worker per attempt")

	// The pool replaced the dead worker: a normal cycle works, dry run and
	// isolated call included.
	r := await(t, 20*time.Second, "greet after the crashes", sendAsync(ctx, m, "greet"))
	require.NoError(t, r.err)
	require.Equal(t, "hello, architect", r.v)
	require.Zero(t, script.Remaining())
}

// A collaborator that panics never takes the host down, never strands a
// sender waiting for the cycle, and never keeps Close waiting.
func TestRegressPanickingCollaborator(t *testing.T) {
	cases := []struct {
		name string
		// open returns the mind and a channel closed when the panicking
		// part is first called (it then holds on for a moment).
		open func(t *testing.T) (*psm.Mind, <-chan struct{})
	}{
		{"model", func(t *testing.T) (*psm.Mind, <-chan struct{}) {
			pm := newPanicModel(300 * time.Millisecond)
			return memMind(t, pm, nil), pm.entered
		}},
		{"embedder", func(t *testing.T) (*psm.Mind, <-chan struct{}) {
			// The plan's query reaches the embedder in DELEGATING, on the
			// cycle's own goroutine.
			pe := &panicEmbedder{trigger: "kaboom", hold: 300 * time.Millisecond}
			emb := pe.embedder()
			script := persona.NewScripted([]persona.Reply{plan("kaboom"), plan("kaboom"), plan("kaboom")})
			return memMind(t, script, func(o *psm.Options) { o.Memory.Embedder = emb }), pe.entered
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, entered := tc.open(t)
			before := unchanged(t, m)
			first := sendAsync(ctx, m, "greet")
			waitFor(t, 10*time.Second, "the panicking part is called", entered)
			second := sendAsync(ctx, m, "greet") // joins the cycle, or runs its own
			// Both answer (bounded) before either answer is judged.
			var rs []sendResult
			for i, ch := range []<-chan sendResult{first, second} {
				rs = append(rs, await(t, 20*time.Second, fmt.Sprintf("send %d", i+1), ch))
			}
			for i, r := range rs {
				require.Nil(t, r.v)
				require.ErrorIs(t, r.err, psm.ErrCycleFailed, "send %d", i+1)
				require.Contains(t, r.err.Error(), "bug", "send %d: the error names the panic", i+1)
			}
			require.Equal(t, before, unchanged(t, m))
			require.Empty(t, versions(t, m, "greet"))
			require.Zero(t, outcomes(t, m)[psm.Complete])
			closeWithin(t, m, 10*time.Second)
		})
	}
}

// A panic inside the cycle ends it like any other failure: a *CycleError
// naming the state, and a complete FAILED record.
func TestRegressPanicInCycleIsRecorded(t *testing.T) {
	pe := &panicEmbedder{trigger: "kaboom"}
	emb := pe.embedder()
	script := persona.NewScripted([]persona.Reply{plan("kaboom")})
	m := memMind(t, script, func(o *psm.Options) { o.Memory.Embedder = emb })
	r := await(t, 20*time.Second, "send", sendAsync(ctx, m, "greet"))
	require.ErrorIs(t, r.err, psm.ErrCycleFailed)
	recs, err := m.Cycles(ctx)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	var ce *psm.CycleError
	require.ErrorAs(t, r.err, &ce)
	require.Equal(t, psm.Delegating, ce.State)
	requireFailedRecord(t, recs[0], psm.Delegating)
}

// The first sender's cancellation is not the second sender's failure: the
// second, whose context is live, gets the method's answer (running a cycle
// of its own if it must), whether the first was cancelled or ran out of
// time, and in whichever state.
func TestRegressWaiterOutlivesLeadersCancellation(t *testing.T) {
	slowPlan := persona.Reply{Persona: "BRICK", Delay: 10 * time.Second, Text: `{"queries": ["greeting"]}`}
	slowCode := persona.Reply{Persona: "ALFRED", Delay: 10 * time.Second, Text: code(greetSrc)}
	cases := []struct {
		name  string
		first []persona.Reply // the first sender's cycle, which never ends by itself
		in    psm.State       // where the first cycle is when the second sender comes
		// lead returns the first sender's context and how it ends.
		lead func() (context.Context, context.CancelFunc, func())
		want error
	}{
		{
			name: "cancelled while synthesizing", first: []persona.Reply{plan("greeting"), slowCode}, in: psm.Synthesizing,
			lead: func() (context.Context, context.CancelFunc, func()) {
				c, cancel := context.WithCancel(ctx)
				return c, cancel, cancel
			},
			want: context.Canceled,
		},
		{
			name: "out of time while decomposing", first: []persona.Reply{slowPlan}, in: psm.Decomposing,
			lead: func() (context.Context, context.CancelFunc, func()) {
				c, cancel := context.WithTimeout(ctx, time.Second)
				return c, cancel, func() {} // its deadline ends it
			},
			want: context.DeadlineExceeded,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			replies := append(slices.Clone(tc.first), plan("greeting"), persona.Reply{Persona: "ALFRED", Expect: `"greet"`, Text: code(greetSrc)})
			m := memMind(t, persona.NewScripted(replies), func(o *psm.Options) { o.MaxAttempts = 1 })
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

			r1 := await(t, 10*time.Second, "the first sender", first)
			require.ErrorIs(t, r1.err, tc.want, "the first sender's own end")
			r2 := await(t, 20*time.Second, "the second sender", second)
			require.NoError(t, r2.err, "the second sender's context is live (its Err: %v)", wctx.Err())
			require.Equal(t, "hello, architect", r2.v)
			require.Len(t, versions(t, m, "greet"), 1)
			got := outcomes(t, m)
			require.Equal(t, 1, got[psm.Complete], "one cycle completed (outcomes %v)", got)
		})
	}
}

// Two cycles whose dry runs need each other's method, running at the same
// time on two goroutines, both end within a bound: a nested send never
// waits on another goroutine's cycle.
func TestRegressCrossNestedSendsNeverDeadlock(t *testing.T) {
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
func TestRegressConcurrentSendsInstallOnce(t *testing.T) {
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

// Arguments: a non-finite float is storable and its cycle's record is
// written (JSON cannot hold NaN); a value the image cannot store is
// refused with a typed error before any cycle starts, and nothing changes.
func TestRegressUnusualArguments(t *testing.T) {
	cases := []struct {
		name       string
		arg        any
		unstorable bool
		recorded   any // the argument as the record holds it
	}{
		{name: "NaN", arg: math.NaN(), recorded: "NaN"},
		{name: "+Inf", arg: math.Inf(1), recorded: "+Inf"},
		{name: "NaN in a list", arg: []any{1, math.NaN()}, recorded: []any{float64(1), "NaN"}},
		{name: "channel", arg: make(chan int), unstorable: true},
		{name: "func", arg: func() {}, unstorable: true},
		{name: "struct", arg: struct{ A int }{1}, unstorable: true},
		{name: "channel in a map", arg: map[string]any{"c": make(chan int)}, unstorable: true},
		{name: "func in a list", arg: []any{"ok", func() {}}, unstorable: true},
	}
	// One mind for all cases (workers are slow to start under -race); each
	// case sends its own selector, and only storable ones reach a model.
	sel := func(i int) string { return fmt.Sprintf("greet_%d", i) }
	var replies []persona.Reply
	for i, tc := range cases {
		if !tc.unstorable {
			replies = append(replies, plan("greeting"), persona.Reply{
				Persona: "ALFRED", Expect: fmt.Sprintf("%q", sel(i)), Text: code(strings.ReplaceAll(greetSrc, "greet", sel(i))),
			})
		}
	}
	script := persona.NewScripted(replies)
	m := memMind(t, script, func(o *psm.Options) {
		o.MaxAttempts = 1
		o.Live.Policy = psm.PolicyInProcess // the dry run is isolated all the same
	})
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := unchanged(t, m)
			fp, err := m.Image().Fingerprint(ctx)
			require.NoError(t, err)
			recsBefore, err := m.Cycles(ctx)
			require.NoError(t, err)
			remaining := script.Remaining()
			var r sendResult
			within(t, 20*time.Second, "send", func() {
				defer func() {
					if p := recover(); p != nil {
						r.err = fmt.Errorf("Send panicked: %v", p)
					}
				}()
				r.v, r.err = m.Send(ctx, m.Genesis(), sel(i), tc.arg)
			})
			recs, err := m.Cycles(ctx)
			require.NoError(t, err, "the records stay readable")
			if tc.unstorable {
				require.ErrorIs(t, r.err, uvm.ErrUnstorable)
				var ve *uvm.ValueError
				require.ErrorAs(t, r.err, &ve)
				require.Nil(t, r.v)
				require.Len(t, recs, len(recsBefore), "no cycle starts for an argument the image refuses")
				require.Equal(t, remaining, script.Remaining(), "no model was asked")
				after, err := m.Image().Fingerprint(ctx)
				require.NoError(t, err)
				require.Equal(t, fp, after, "nothing changed, records included")
				return
			}
			require.NoError(t, r.err)
			require.Equal(t, "hello, architect", r.v)
			require.Len(t, recs, len(recsBefore)+1)
			j := slices.IndexFunc(recs, func(r psm.Record) bool { return r.Mission.Selector == sel(i) })
			require.GreaterOrEqual(t, j, 0, "a record of the cycle for %s", sel(i))
			rec := recs[j]
			require.Equal(t, psm.Complete, rec.Outcome)
			require.Equal(t, []any{tc.recorded}, rec.Mission.Args)
			require.NotEqual(t, before, unchanged(t, m), "the method was installed")
		})
	}
}

// A model that never answers with code fails the cycle in SYNTHESIZING,
// where it failed, not in VALIDATING, which it never reached.
func TestRegressNoCodeFailsInSynthesizing(t *testing.T) {
	prose := "I would write it in Python, but I am not allowed to."
	script := persona.NewScripted([]persona.Reply{
		plan("greeting"),
		{Persona: "ALFRED", Text: prose},
		{Persona: "ALFRED", Text: prose},
	})
	m := memMind(t, script, func(o *psm.Options) { o.MaxAttempts = 2 })
	before := unchanged(t, m)
	_, err := m.Send(ctx, m.Genesis(), "greet")
	require.ErrorIs(t, err, psm.ErrCycleFailed)
	var ce *psm.CycleError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, 2, ce.Attempts)
	require.Zero(t, script.Remaining())
	require.Equal(t, before, unchanged(t, m))
	rec, rerr := m.Cycle(ctx, ce.CycleID)
	require.NoError(t, rerr)
	for _, e := range rec.Events {
		require.NotEqual(t, psm.Validating, e.State, "no event in VALIDATING: no code was ever validated (event %d: %s %q)", e.Seq, e.Kind, e.Text)
	}
	require.Equal(t, psm.Synthesizing, ce.State, "got %s, want SYNTHESIZING: %v", ce.State, err)
	requireFailedRecord(t, rec, psm.Synthesizing)
}

// A cycle that fails leaves nothing in the image, also not the method a
// nested cycle wrote for it during its dry run.
func TestRegressFailedCycleKeepsNoNestedMethod(t *testing.T) {
	outer := `package m

import (
	"errors"

	"batos"
)

// greet needs a nickname, then fails.
func greet(self batos.Self, args []any) (any, error) {
	if _, err := self.Send("nickname"); err != nil {
		return nil, err
	}
	return nil, errors.New("outer broken")
}`
	inner := `package m

import "batos"

// nickname names the object.
func nickname(self batos.Self, args []any) (any, error) {
	return "BRICK", nil
}`
	script := persona.NewScripted([]persona.Reply{
		plan("greeting"), {Persona: "ALFRED", Expect: `"greet"`, Text: code(outer)},
		plan("nickname"), {Persona: "ALFRED", Expect: `"nickname"`, Text: code(inner)},
	})
	m := memMind(t, script, func(o *psm.Options) { o.MaxAttempts = 1 })
	before := unchanged(t, m)
	_, err := m.Send(ctx, m.Genesis(), "greet")
	var ce *psm.CycleError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, psm.Validating, ce.State)
	require.Contains(t, err.Error(), "outer broken")
	require.Zero(t, script.Remaining(), "the nested cycle ran")
	require.Equal(t, before, unchanged(t, m), "FAILED: nothing the cycle did stays in the image")
}

// Errors a sender can act on: a Mind used after Close says ErrClosed; a
// target that is not committed yet says uvm.ErrNotFound, and starts no
// cycle.
func TestRegressErrorShapes(t *testing.T) {
	t.Run("uncommitted target", func(t *testing.T) {
		script := persona.NewScripted([]persona.Reply{plan("greeting"), {Persona: "ALFRED", Text: code(greetSrc)}})
		m := memMind(t, script, nil)
		err := m.Image().Update(ctx, func(tx *uvm.Tx) error {
			o, err := tx.New()
			if err != nil {
				return err
			}
			_, err = tx.Send(ctx, o, "greet")
			return err
		})
		require.ErrorIs(t, err, uvm.ErrNotFound)
		require.Contains(t, err.Error(), "commit")
		recs, rerr := m.Cycles(ctx)
		require.NoError(t, rerr)
		require.Empty(t, recs)
		require.Equal(t, 2, script.Remaining())
	})
	t.Run("after Close", func(t *testing.T) {
		m := memMind(t, persona.NewScripted(nil), nil)
		closeWithin(t, m, 10*time.Second)
		var err error
		within(t, 10*time.Second, "Send after Close", func() { _, err = m.Send(ctx, m.Genesis(), "greet") })
		require.ErrorIs(t, err, psm.ErrClosed)
		closeWithin(t, m, 10*time.Second) // a second Close is harmless
	})
}
