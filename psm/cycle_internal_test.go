package psm

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	personapkg "github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms"
)

// scriptRunner is a stand-in for the live runtime that understands a tiny
// command language, so the cycle's logic can be tested on its own:
//
//	ANSWER x        answer the string x
//	SETNOMARK s v   set slot s to v without MarkChanged (a covenant breach)
//	SET s v         set slot s to v and mark
//	SEND sel        answer what self.Send(sel) answers
//	FAIL text       return an error
type scriptRunner struct{ runs atomic.Int64 }

func (r *scriptRunner) Run(ctx context.Context, c *uvm.Call) (any, error) {
	r.runs.Add(1)
	self := c.Self(ctx)
	var answer any
	for _, line := range strings.Split(strings.TrimSpace(c.Method.Source), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "ANSWER":
			answer = strings.Join(f[1:], " ")
		case "SETNOMARK":
			if err := self.Set(f[1], f[2]); err != nil {
				return nil, err
			}
		case "SET":
			if err := self.Set(f[1], f[2]); err != nil {
				return nil, err
			}
			self.MarkChanged()
		case "SEND":
			v, err := self.Send(f[1])
			if err != nil {
				return nil, err
			}
			answer = v
		case "FAIL":
			return nil, errors.New(strings.Join(f[1:], " "))
		case "SLEEP":
			select {
			case <-time.After(50 * time.Millisecond):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	return answer, nil
}

// script is a queue of model replies keyed by what the prompt contains.
type script struct {
	mu      sync.Mutex
	replies []string
	prompts []string
	calls   atomic.Int64
	block   bool
}

func (s *script) ask(ctx context.Context, persona, prompt string) (string, error) {
	s.calls.Add(1)
	if s.block {
		<-ctx.Done()
		return "", ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prompts = append(s.prompts, persona+": "+prompt)
	if len(s.replies) == 0 {
		return "", errors.New("script exhausted")
	}
	r := s.replies[0]
	s.replies = s.replies[1:]
	return r, nil
}

type fakeModel struct{ llms.Model }

// scriptPersonas are personas whose models answer from a script: plans
// are JSON, code is a reply starting with "CODE\n".
type scriptPersonas struct{ s *script }

func (p scriptPersonas) Ask(ctx context.Context, persona, prompt string, _ ...personapkg.AskOption) (string, error) {
	return p.s.ask(ctx, persona, prompt)
}

func (scriptPersonas) Plan(reply string) ([]string, error) {
	var p struct{ Queries []string }
	if err := json.Unmarshal([]byte(reply), &p); err != nil {
		return nil, err
	}
	return p.Queries, nil
}

func (scriptPersonas) Code(reply, _ string) (string, error) {
	if !strings.HasPrefix(reply, "CODE\n") {
		return "", errors.New("no code in reply")
	}
	return strings.TrimPrefix(reply, "CODE\n"), nil
}

func (scriptPersonas) Of(tx *uvm.Tx, o *uvm.Object) (string, error) { return "ALFRED", nil }

func (scriptPersonas) Model(persona string) string { return "script" }

func (scriptPersonas) FacetIntent(tx *uvm.Tx, o *uvm.Object, sel string) (string, bool, error) {
	return "", false, nil
}

func (scriptPersonas) Incarnate(ctx context.Context, tx *uvm.Tx) error { return nil }

// fakeKnowledge is a memory that always says hi; recall, when set,
// replaces Recall.
type fakeKnowledge struct {
	recall func(ctx context.Context, q []string) ([]string, error)
}

func (k fakeKnowledge) Recall(ctx context.Context, q []string) ([]string, error) {
	if k.recall != nil {
		return k.recall(ctx, q)
	}
	return []string{"memory says hi"}, nil
}

func (fakeKnowledge) Search(ctx context.Context, q string, n int) ([]any, error) {
	return []any{map[string]any{"text": "memory says hi about " + q}}, nil
}

func (fakeKnowledge) Skills(ctx context.Context, q string) ([]skill, error) { return nil, nil }

func (fakeKnowledge) Learn(ctx context.Context, tx *uvm.Tx, oid uvm.OID, m uvm.Method) error {
	return tx.PutRecord("learned", m.Selector, []byte(m.Source))
}

func (fakeKnowledge) IngestCodex(ctx context.Context, tx *uvm.Tx) error { return nil }
func (fakeKnowledge) Refresh(context.Context) error                     { return nil }

// scriptCompiler accepts every source except one that says FORBIDDEN;
// its candidates run on the image's runner (a scriptRunner).
type scriptCompiler struct{}

func (scriptCompiler) Compile(ctx context.Context, src, sel string) (candidate, error) {
	if strings.Contains(src, "FORBIDDEN") {
		return nil, errors.New("guardian: import of os is forbidden")
	}
	return scriptCandidate{sel: sel, src: src}, nil
}

func (scriptCompiler) SetImagePolicy(tx *uvm.Tx, policy string) error { return nil }

type scriptCandidate struct{ sel, src string }

func (c scriptCandidate) DryRun(ctx context.Context, tx *uvm.Tx, o *uvm.Object, args ...any) (any, error) {
	return tx.Run(ctx, o, uvm.Method{Selector: c.sel, Source: c.src, Policy: PolicyIsolated}, args...)
}

func (c scriptCandidate) Install(ctx context.Context, tx *uvm.Tx, o *uvm.Object, meta uvm.Method) (uvm.Method, error) {
	meta.Selector, meta.Source, meta.Version = c.sel, c.src, 0
	return tx.InstallMethod(o, meta)
}

// testMind opens an in-memory mind whose image runs methods with a
// scriptRunner and whose collaborators are the fakes above.
func testMind(t *testing.T, s *script, opts Options) (*Mind, *scriptRunner) {
	t.Helper()
	r := &scriptRunner{}
	opts.InMemory = true
	opts.Model = fakeModel{}
	m := newMind(opts)
	t.Cleanup(func() { m.Close() })
	m.personas, m.knowledge, m.compiler = scriptPersonas{s}, fakeKnowledge{}, scriptCompiler{}
	require.NoError(t, m.openImage("", r))
	require.NoError(t, m.start(context.Background()))
	return m, r
}

const plan = `{"queries": ["greeting the architect"]}`

// fingerprint hashes every key and value of the image except the cycle
// records, which are meant to survive a failed cycle.
func fingerprint(t *testing.T, m *Mind) string {
	t.Helper()
	fp, err := m.im.Fingerprint(context.Background(), recordNS)
	require.NoError(t, err)
	return fp
}

func TestCycleFirstContact(t *testing.T) {
	s := &script{replies: []string{plan, "CODE\nANSWER hello architect"}}
	m, _ := testMind(t, s, Options{})
	var states []State
	var mu sync.Mutex
	m.Subscribe(func(e Event) {
		if e.Kind == EventState {
			mu.Lock()
			states = append(states, e.State)
			mu.Unlock()
		}
	})
	ctx := context.Background()
	v, err := m.Send(ctx, m.Genesis(), "greet")
	require.NoError(t, err)
	require.Equal(t, "hello architect", v)
	require.Equal(t, []State{Idle, Decomposing, Delegating, Synthesizing, Validating, Complete}, states)

	// Answered without a cycle the second time.
	v, err = m.Send(ctx, m.Genesis(), "greet")
	require.NoError(t, err)
	require.Equal(t, "hello architect", v)
	require.Equal(t, int64(2), s.calls.Load())

	recs, err := m.Cycles(ctx)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Equal(t, Complete, recs[0].Outcome)
	require.Equal(t, 1, recs[0].Version)
	require.Equal(t, []string{"greeting the architect"}, recs[0].Queries)
	require.Contains(t, s.prompts[1], "memory says hi")
}

func TestCycleRetriesWithTheError(t *testing.T) {
	s := &script{replies: []string{plan, "CODE\nSETNOMARK mood happy\nANSWER done", "CODE\nSET mood happy\nANSWER done"}}
	m, _ := testMind(t, s, Options{})
	v, err := m.Send(context.Background(), m.Genesis(), "greet")
	require.NoError(t, err)
	require.Equal(t, "done", v)
	require.Contains(t, s.prompts[2], "covenant", "the second prompt carries the error")
	require.Contains(t, s.prompts[2], "mood")
	rec, _ := m.Cycles(context.Background())
	require.Equal(t, 2, rec[0].Attempts)
}

func TestCycleFailsCleanly(t *testing.T) {
	s := &script{replies: []string{"no json here", "still none", "CODE\nFORBIDDEN", "not code", "CODE\nFAIL broken at runtime"}}
	m, _ := testMind(t, s, Options{})
	ctx := context.Background()
	before := fingerprint(t, m)
	_, err := m.Send(ctx, m.Genesis(), "greet")
	require.ErrorIs(t, err, ErrCycleFailed)
	var ce *CycleError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, Validating, ce.State)
	require.Equal(t, 3, ce.Attempts)
	require.Contains(t, err.Error(), "broken at runtime")
	require.Equal(t, before, fingerprint(t, m), "image unchanged")

	recs, err := m.Cycles(ctx)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	r := recs[0]
	require.Equal(t, Failed, r.Outcome)
	require.True(t, r.Fallback, "garbage plans fall back to derived queries")
	require.Equal(t, []string{"greet"}, r.Queries)
	kinds := map[string]int{}
	for _, e := range r.Events {
		kinds[e.Kind]++
	}
	require.Equal(t, 5, kinds[EventPrompt], "two plan prompts and three synthesis prompts recorded")
	require.Equal(t, 5, kinds[EventReply])
}

func TestConcurrentSendsShareOneCycle(t *testing.T) {
	s := &script{replies: []string{plan, "CODE\nSLEEP\nANSWER shared"}}
	m, _ := testMind(t, s, Options{})
	ctx := context.Background()
	var wg sync.WaitGroup
	answers := make([]any, 6)
	errs := make([]error, 6)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i], errs[i] = m.Send(ctx, m.Genesis(), "greet")
		}()
	}
	wg.Wait()
	for i := range answers {
		require.NoError(t, errs[i])
		require.Equal(t, "shared", answers[i])
	}
	require.Equal(t, int64(2), s.calls.Load(), "one plan and one synthesis in all")
	recs, _ := m.Cycles(ctx)
	require.Len(t, recs, 1)
}

func TestNestedCycles(t *testing.T) {
	// greet's dry run sends nickname, which nobody understands: a nested cycle.
	s := &script{replies: []string{plan, "CODE\nSEND nickname", plan, "CODE\nANSWER BRICK"}}
	m, _ := testMind(t, s, Options{})
	v, err := m.Send(context.Background(), m.Genesis(), "greet")
	require.NoError(t, err)
	require.Equal(t, "BRICK", v)
	recs, _ := m.Cycles(context.Background())
	require.Len(t, recs, 2)

	t.Run("limit", func(t *testing.T) {
		s := &script{replies: []string{plan, "CODE\nSEND a1", plan, "CODE\nSEND a2", plan, "CODE\nSEND a3"}}
		m, _ := testMind(t, s, Options{MaxNesting: 1, MaxAttempts: 1})
		_, err := m.Send(context.Background(), m.Genesis(), "greet")
		require.ErrorIs(t, err, ErrNestingLimit)
	})
	t.Run("runaway recursion in a dry run", func(t *testing.T) {
		// The recursive send reaches the candidate under dry run (not
		// ErrRecursiveCycle), and uvm's depth bound stops it.
		s := &script{replies: []string{plan, "CODE\nSEND greet"}}
		m, _ := testMind(t, s, Options{MaxAttempts: 1})
		_, err := m.Send(context.Background(), m.Genesis(), "greet")
		require.ErrorIs(t, err, uvm.ErrTooDeep)
		require.ErrorIs(t, err, ErrCycleFailed)
	})
}

func TestCycleHonoursDeadline(t *testing.T) {
	s := &script{block: true}
	m, _ := testMind(t, s, Options{})
	before := fingerprint(t, m)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := m.Send(ctx, m.Genesis(), "greet")
	require.Error(t, err)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 5*time.Second)
	require.Equal(t, before, fingerprint(t, m))
	recs, _ := m.Cycles(context.Background())
	require.Len(t, recs, 1)
	require.Equal(t, Failed, recs[0].Outcome)
	require.Equal(t, Decomposing, recs[0].FailedIn)
}
