package psm_test

// How cycles fail, through the public API only (Open, Send, Cycle(s),
// Subscribe, Image): a dying worker, a panicking collaborator or cycle, a
// model without code, a failed cycle's nested method, and the shapes of
// the errors a sender gets. Every wait is bounded: a hang fails the test
// instead of hanging it.

import (
	"fmt"
	"strings"
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
func TestWorkerCrashDuringDryRun(t *testing.T) {
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
func TestPanickingCollaborator(t *testing.T) {
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
func TestPanicInCycleIsRecorded(t *testing.T) {
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

// A model that never answers with code fails the cycle in SYNTHESIZING,
// where it failed, not in VALIDATING, which it never reached.
func TestNoCodeFailsInSynthesizing(t *testing.T) {
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
func TestFailedCycleKeepsNoNestedMethod(t *testing.T) {
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
func TestErrorShapes(t *testing.T) {
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
