package psm_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/persona/personatest"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/psm/psmtest"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms"
)

func TestMain(m *testing.M) {
	if os.Getenv(kernelChildEnv) != "" { // a child kernel (kernels_test.go)
		os.Exit(kernelChild())
	}
	live.ServeIfWorker()
	code := m.Run()
	stopCluster()
	os.Exit(code)
}

var ctx = context.Background()

func code(src string) string { return "Here you are:\n\n```go\n" + src + "\n```\n" }

func plan(q ...string) persona.Reply {
	b := `{"queries": [`
	for i, s := range q {
		if i > 0 {
			b += ", "
		}
		b += fmt.Sprintf("%q", s)
	}
	return persona.Reply{Persona: "BRICK", Text: b + "]}"}
}

const greetSrc = `package m

import "batos"

// greet answers a greeting.
func greet(self batos.Self, args []any) (any, error) {
	return "hello, architect", nil
}`

const tickUnmarked = `package m

import "batos"

func tick(self batos.Self, args []any) (any, error) {
	n, _ := self.Get("ticks").(int64)
	if err := self.Set("ticks", n+1); err != nil {
		return nil, err
	}
	return n + 1, nil
}`

const tickMarked = `package m

import "batos"

// tick counts how often it was sent.
func tick(self batos.Self, args []any) (any, error) {
	defer self.MarkChanged()
	n, _ := self.Get("ticks").(int64)
	if err := self.Set("ticks", n+1); err != nil {
		return nil, err
	}
	return n + 1, nil
}`

// openMind opens a mind on an on-disk image with a scripted model and an
// audit log, returning the mind and the log's path.
func openMind(t *testing.T, dir string, model llms.Model, mod func(*psm.Options)) (*psm.Mind, string) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "audit.jsonl")
	f, err := os.Create(logPath)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	opts := psm.Options{Model: model, AuditLog: f, NoSync: true}
	if mod != nil {
		mod(&opts)
	}
	m, err := psm.Open(ctx, dir, opts)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	return m, logPath
}

// unchanged fingerprints everything but the cycle records, which are meant
// to survive a failed cycle.
func unchanged(t *testing.T, m *psm.Mind) string {
	t.Helper()
	fp, err := m.Fingerprint(ctx)
	require.NoError(t, err)
	return fp
}

func TestFirstContactSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	script := persona.NewScripted([]persona.Reply{plan("greeting"), {Persona: "ALFRED", Expect: "greet", Text: code(greetSrc)}})
	m, logPath := openMind(t, dir, script, nil)
	var states []psm.State
	var mu sync.Mutex
	m.Subscribe(func(e psm.Event) {
		if e.Kind == psm.EventState {
			mu.Lock()
			states = append(states, e.State)
			mu.Unlock()
		}
	})
	v, err := m.Send(ctx, m.Genesis(), "greet")
	require.NoError(t, err)
	require.Equal(t, "hello, architect", v)
	require.Equal(t, []psm.State{psm.Idle, psm.Decomposing, psm.Delegating, psm.Synthesizing, psm.Validating, psm.Complete}, states)
	recs, err := m.Cycles(ctx)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Equal(t, psm.Complete, recs[0].Outcome)
	require.Equal(t, 1, recs[0].Version)
	log, err := os.ReadFile(logPath)
	require.NoError(t, err)
	require.Contains(t, string(log), `"state":"COMPLETE"`)
	require.NoError(t, m.Close())

	// Reopen: the method is there; an exhausted script proves no cycle runs.
	m2, _ := openMind(t, dir, persona.NewScripted(nil), nil)
	v, err = m2.Send(ctx, m2.Genesis(), "greet")
	require.NoError(t, err)
	require.Equal(t, "hello, architect", v)
}

// diskMind opens a test mind on an image in a temporary directory.
func diskMind(t *testing.T, replies ...persona.Reply) *psmtest.Mind {
	t.Helper()
	return psmtest.New(t, psmtest.Options{Script: replies, Dir: t.TempDir(), Mind: psm.Options{NoSync: true}})
}

func TestCovenantViolationCorrected(t *testing.T) {
	h := diskMind(t,
		plan("counting"),
		persona.Reply{Persona: "ALFRED", Text: code(tickUnmarked)},
		persona.Reply{Persona: "ALFRED", Expect: "MarkChanged", Text: code(tickMarked)},
	)
	v, err := h.Send(ctx, h.Genesis(), "tick")
	require.NoError(t, err)
	require.Equal(t, int64(1), v)
	v, err = h.Send(ctx, h.Genesis(), "tick")
	require.NoError(t, err)
	require.Equal(t, int64(2), v, "the count persisted between sends")
	rec, err := h.LastCycle(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, rec.Attempts)
	require.Equal(t, 3, h.ModelCalls(), "one plan, two syntheses; the second send asks nobody")
}

func TestGarbagePlansFallBack(t *testing.T) {
	h := diskMind(t,
		persona.Reply{Persona: "BRICK", Text: "I would rather talk about Lego."},
		persona.Reply{Persona: "BRICK", Expect: "could not be read", Text: "{not json"},
		persona.Reply{Persona: "ALFRED", Text: code(greetSrc)},
	)
	v, err := h.Send(ctx, h.Genesis(), "greet")
	require.NoError(t, err)
	require.Equal(t, "hello, architect", v)
	rec, err := h.LastCycle(ctx)
	require.NoError(t, err)
	require.True(t, rec.Fallback)
	require.Equal(t, []string{"greet"}, rec.Queries)
}

func TestNeverCompilesFailsCleanly(t *testing.T) {
	broken := `package m

import "batos"

func greet(self batos.Self, args []any) (any, error) {
	return undefinedThing, nil
}`
	h := diskMind(t,
		plan("greeting"),
		persona.Reply{Persona: "ALFRED", Text: code(broken)},
		persona.Reply{Persona: "ALFRED", Text: code(broken)},
		persona.Reply{Persona: "ALFRED", Text: code(broken)},
	)
	before, err := h.StateFingerprint(ctx)
	require.NoError(t, err)
	_, err = h.Send(ctx, h.Genesis(), "greet")
	require.ErrorIs(t, err, psm.ErrCycleFailed)
	var ce *psm.CycleError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, psm.Validating, ce.State)
	require.Equal(t, 3, ce.Attempts)
	require.Contains(t, err.Error(), "undefinedThing")
	after, err := h.StateFingerprint(ctx)
	require.NoError(t, err)
	require.Equal(t, before, after, "image byte-identical but for the record")
	require.Equal(t, 4, h.ModelCalls())

	rec, err := h.Cycle(ctx, ce.CycleID)
	require.NoError(t, err)
	require.Equal(t, psm.Failed, rec.Outcome)
	require.Equal(t, psm.Validating, rec.FailedIn)
	var prompts, replies, verdicts int
	for _, e := range rec.Events {
		switch e.Kind {
		case psm.EventPrompt:
			prompts++
		case psm.EventReply:
			replies++
		case psm.EventVerdict:
			verdicts++
		}
	}
	require.Equal(t, 4, prompts, "one plan, three syntheses")
	require.Equal(t, 4, replies)
	require.GreaterOrEqual(t, verdicts, 3)
}

func TestModelThatHangs(t *testing.T) {
	script := persona.NewScripted([]persona.Reply{plan("greeting"), {Hang: true}})
	m, _ := openMind(t, t.TempDir(), script, func(o *psm.Options) {
		o.Personas.Limits.Timeout = 200 * time.Millisecond
	})
	before := unchanged(t, m)
	start := time.Now()
	_, err := m.Send(ctx, m.Genesis(), "greet")
	require.ErrorIs(t, err, psm.ErrCycleFailed)
	require.ErrorIs(t, err, persona.ErrTimeout)
	require.Less(t, time.Since(start), 10*time.Second)
	var ce *psm.CycleError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, psm.Synthesizing, ce.State)
	require.Equal(t, before, unchanged(t, m))
}

func TestCancelledMidCycle(t *testing.T) {
	script := persona.NewScripted([]persona.Reply{plan("greeting"), {Delay: 5 * time.Second, Text: code(greetSrc)}})
	m, _ := openMind(t, t.TempDir(), script, nil)
	before := unchanged(t, m)
	c, cancel := context.WithCancel(ctx)
	m.Subscribe(func(e psm.Event) {
		if e.Kind == psm.EventPrompt && e.State == psm.Synthesizing {
			go func() { time.Sleep(50 * time.Millisecond); cancel() }()
		}
	})
	_, err := m.Send(c, m.Genesis(), "greet")
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, before, unchanged(t, m))
	recs, _ := m.Cycles(ctx)
	require.Len(t, recs, 1)
	require.Equal(t, psm.Failed, recs[0].Outcome)
}

func TestConcurrentIdenticalSends(t *testing.T) {
	script := persona.NewScripted([]persona.Reply{plan("greeting"), {Delay: 100 * time.Millisecond, Text: code(greetSrc)}})
	m, _ := openMind(t, t.TempDir(), script, nil)
	var wg sync.WaitGroup
	errs := make([]error, 5)
	answers := make([]any, 5)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i], errs[i] = m.Send(ctx, m.Genesis(), "greet")
		}()
	}
	wg.Wait()
	for i := range errs {
		require.NoError(t, errs[i])
		require.Equal(t, "hello, architect", answers[i])
	}
	recs, _ := m.Cycles(ctx)
	require.Len(t, recs, 1, "one cycle for five senders")
}

func TestNestedCycle(t *testing.T) {
	h := diskMind(t, nestedReplies()...)
	v, err := h.Send(ctx, h.Genesis(), "outer")
	require.NoError(t, err)
	require.Equal(t, "outer+inner", v)
	require.Zero(t, h.Script().Remaining())
	recs, _ := h.Cycles(ctx)
	require.Len(t, recs, 2)
	byDepth := map[int]psm.Record{}
	for _, r := range recs {
		byDepth[r.Depth] = r
	}
	require.Equal(t, "inner", byDepth[1].Mission.Selector)
	require.Equal(t, byDepth[0].ID, byDepth[1].Parent)
}

func TestFacetIntentReachesThePrompt(t *testing.T) {
	script := persona.NewScripted([]persona.Reply{
		plan("weather"),
		{Expect: "say something about the weather", Text: code(`package m

import "batos"

func small_talk(self batos.Self, args []any) (any, error) {
	return "lovely weather", nil
}`)},
	})
	m, _ := openMind(t, t.TempDir(), script, nil)
	var target uvm.OID
	require.NoError(t, m.Image().Update(ctx, func(tx *uvm.Tx) error {
		robin, err := persona.Prototype(tx, persona.ROBIN)
		if err != nil {
			return err
		}
		if err := robin.Set("facets", map[string]any{"small_talk": "say something about the weather"}); err != nil {
			return err
		}
		o, err := tx.New()
		if err != nil {
			return err
		}
		target = o.OID()
		return o.SetParents(robin)
	}))
	v, err := m.Send(ctx, target, "small_talk")
	require.NoError(t, err)
	require.Equal(t, "lovely weather", v)
	recs, _ := m.Cycles(ctx)
	require.Equal(t, "say something about the weather", recs[0].Mission.Intent)
	require.Equal(t, persona.ROBIN, recs[0].Persona)
}

func TestFirstContactThroughOllama(t *testing.T) {
	srv := personatest.NewOllama(t, personatest.Replies(
		persona.Reply{Text: `{"queries": ["greeting"]}`},
		persona.Reply{Expect: "greet", Text: code(greetSrc)},
	)...)
	dir := t.TempDir()
	m, err := psm.Open(ctx, dir, psm.Options{
		NoSync:   true,
		Personas: persona.Options{Default: "ollama:qwen2.5-coder:7b@" + srv.URL},
	})
	require.NoError(t, err)
	defer m.Close()
	v, err := m.Send(ctx, m.Genesis(), "greet")
	require.NoError(t, err)
	require.Equal(t, "hello, architect", v)
}

func TestUnreachableModelFailsInDecomposing(t *testing.T) {
	m, err := psm.Open(ctx, "", psm.Options{InMemory: true, Personas: persona.Options{Default: "ollama:nothing@http://127.0.0.1:1"}})
	require.NoError(t, err)
	defer m.Close()
	before := unchanged(t, m)
	_, err = m.Send(ctx, m.Genesis(), "greet")
	require.ErrorIs(t, err, psm.ErrCycleFailed)
	var ce *psm.CycleError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, psm.Decomposing, ce.State)
	require.Equal(t, before, unchanged(t, m))
}
