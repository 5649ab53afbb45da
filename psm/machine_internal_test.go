package psm

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/require"
)

// setStateSlot changes one slot of a state prototype in the image.
func setStateSlot(t *testing.T, m *Mind, s State, slot string, v any) {
	t.Helper()
	require.NoError(t, m.im.Update(context.Background(), func(tx *uvm.Tx) error {
		o, err := tx.Root(StateRoot(s))
		if err != nil {
			return err
		}
		if v == nil {
			return o.Delete(slot)
		}
		return o.Set(slot, v)
	}))
}

// statesOf records the states a mind's cycles enter.
func statesOf(m *Mind) func() []State {
	var mu sync.Mutex
	var states []State
	m.Subscribe(func(e Event) {
		if e.Kind == EventState {
			mu.Lock()
			states = append(states, e.State)
			mu.Unlock()
		}
	})
	return func() []State {
		mu.Lock()
		defer mu.Unlock()
		return append([]State(nil), states...)
	}
}

// The cycle follows the transitions stored in the state prototypes: a
// DECOMPOSING whose next is SYNTHESIZING skips the memory search.
func TestCycleFollowsTheMachineInTheImage(t *testing.T) {
	s := &script{replies: []string{plan, "CODE\nANSWER straight"}}
	m, _ := testMind(t, s, Options{})
	recalled := false
	m.knowledge = fakeKnowledge{recall: func(ctx context.Context, q []string) ([]string, error) {
		recalled = true
		return nil, nil
	}}
	setStateSlot(t, m, Decomposing, SlotNext, string(Synthesizing))
	states := statesOf(m)
	v, err := m.Send(context.Background(), m.Genesis(), "greet")
	require.NoError(t, err)
	require.Equal(t, "straight", v)
	require.Equal(t, []State{Idle, Decomposing, Synthesizing, Validating, Complete}, states())
	require.False(t, recalled, "DELEGATING was skipped, so memory was not searched")
}

func TestBrokenMachineIsRefused(t *testing.T) {
	cases := []struct {
		name  string
		state State
		slot  string
		value any
		want  []string
	}{
		{"unknown behaviour", Validating, SlotBehaviour, "psm.trust_everything", []string{"VALIDATING", `"behaviour"`, "psm.trust_everything", "not a registered behaviour"}},
		{"behaviour not a string", Idle, SlotBehaviour, int64(7), []string{"IDLE", `"behaviour"`, "int64"}},
		{"missing behaviour", Delegating, SlotBehaviour, nil, []string{"DELEGATING", `"behaviour"`, "missing"}},
		{"unknown next state", Decomposing, SlotNext, "DAYDREAMING", []string{"DECOMPOSING", `"next"`, "DAYDREAMING", "not a state"}},
		{"loop on success", Complete, SlotNext, string(Decomposing), []string{"loop"}},
		{"failure elsewhere", Synthesizing, SlotOnFailure, string(Complete), []string{"SYNTHESIZING", `"on_failure"`}},
		{"failure state's behaviour replaced", Failed, SlotBehaviour, BehaviourAccept, []string{"FAILED", BehaviourFail}},
		{"success that never installs", Validating, SlotNext, string(Idle), []string{BehaviourValidate, BehaviourComplete}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &script{replies: []string{plan, "CODE\nANSWER never"}}
			m, _ := testMind(t, s, Options{})
			setStateSlot(t, m, tc.state, tc.slot, tc.value)
			var broken string
			require.NoError(t, m.im.View(context.Background(), func(tx *uvm.Tx) error {
				_, err := loadMachine(tx)
				require.ErrorIs(t, err, ErrStateMachine)
				broken = err.Error()
				return nil
			}))
			for _, w := range tc.want {
				require.Contains(t, broken, w)
			}
			// A running mind refuses to run a cycle on it, and changes nothing.
			before := fingerprint(t, m)
			_, err := m.Send(context.Background(), m.Genesis(), "greet")
			require.ErrorIs(t, err, ErrStateMachine)
			require.ErrorIs(t, err, ErrCycleFailed)
			require.Zero(t, s.calls.Load(), "no model was asked")
			require.Equal(t, before, fingerprint(t, m))
		})
	}
}

func TestReplyWithoutCodeFailsInSynthesizing(t *testing.T) {
	s := &script{replies: []string{plan, "I would rather not.", "Still no code."}}
	m, _ := testMind(t, s, Options{MaxAttempts: 2})
	before := fingerprint(t, m)
	_, err := m.Send(context.Background(), m.Genesis(), "greet")
	var ce *CycleError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, Synthesizing, ce.State)
	require.Equal(t, 2, ce.Attempts)
	require.Contains(t, err.Error(), "no code in reply")
	require.Equal(t, before, fingerprint(t, m))
	recs, _ := m.Cycles(context.Background())
	require.Equal(t, Synthesizing, recs[0].FailedIn)
}

// The message is resent on a fresh snapshot after the install: the new
// method runs once for the dry run and once for the answer, not a third
// time on the sender's stale snapshot.
func TestInstalledMethodAnswersOnce(t *testing.T) {
	s := &script{replies: []string{plan, "CODE\nSET greeted yes\nANSWER hi"}}
	m, r := testMind(t, s, Options{})
	v, err := m.Send(context.Background(), m.Genesis(), "greet")
	require.NoError(t, err)
	require.Equal(t, "hi", v)
	require.Equal(t, int64(2), r.runs.Load(), "dry run + the answer")
	require.NoError(t, m.im.View(context.Background(), func(tx *uvm.Tx) error {
		g, _ := tx.Object(m.Genesis())
		got, _ := g.Get("greeted")
		require.Equal(t, "yes", got, "the answer's write committed")
		return nil
	}))
}

func methodOn(t *testing.T, m *Mind, sel string) (uvm.Method, bool) {
	t.Helper()
	meth, ok, err := m.committedMethod(context.Background(), flightKey{oid: m.Genesis(), sel: sel})
	require.NoError(t, err)
	return meth, ok
}

// A nested cycle's method installs with the outer cycle's, in its
// transaction, or not at all.
func TestNestedCycleInstallsWithItsOuterCycle(t *testing.T) {
	t.Run("outer fails: nothing installed", func(t *testing.T) {
		s := &script{replies: []string{plan, "CODE\nSEND nickname\nFAIL not good enough", plan, "CODE\nANSWER BRICK"}}
		m, _ := testMind(t, s, Options{MaxAttempts: 1})
		before := fingerprint(t, m)
		_, err := m.Send(context.Background(), m.Genesis(), "greet")
		require.ErrorIs(t, err, ErrCycleFailed)
		require.Equal(t, before, fingerprint(t, m), "the nested method was not installed either")
		_, ok := methodOn(t, m, "nickname")
		require.False(t, ok)
		recs, err := m.Cycles(context.Background())
		require.NoError(t, err)
		require.Len(t, recs, 2)
		byID := map[string]Record{}
		for _, r := range recs {
			byID[r.Mission.Selector] = r
		}
		nested := byID["nickname"]
		require.Equal(t, Failed, nested.Outcome)
		require.Equal(t, 1, nested.Depth)
		require.Equal(t, byID["greet"].ID, nested.Parent)
		require.Contains(t, nested.Error, "discarded")
		require.Zero(t, nested.Version)
	})
	t.Run("outer retries: the pending method is reused", func(t *testing.T) {
		s := &script{replies: []string{plan, "CODE\nSEND nickname\nFAIL first try", plan, "CODE\nANSWER BRICK", "CODE\nSEND nickname"}}
		m, _ := testMind(t, s, Options{MaxAttempts: 2})
		v, err := m.Send(context.Background(), m.Genesis(), "greet")
		require.NoError(t, err)
		require.Equal(t, "BRICK", v)
		require.Empty(t, s.replies, "one nested cycle only")
		nick, ok := methodOn(t, m, "nickname")
		require.True(t, ok)
		greet, ok := methodOn(t, m, "greet")
		require.True(t, ok)
		require.Equal(t, 1, nick.Version)
		require.Equal(t, 1, greet.Version)
		recs, _ := m.Cycles(context.Background())
		require.Len(t, recs, 2)
		for _, r := range recs {
			require.Equal(t, Complete, r.Outcome, r.Mission.Selector)
			require.Equal(t, 1, r.Version)
		}
	})
	t.Run("nested failure discards its own nested cycles", func(t *testing.T) {
		// greet → nickname → title; nickname fails after title validated.
		s := &script{replies: []string{
			plan, "CODE\nSEND nickname",
			plan, "CODE\nSEND title\nFAIL nickname broken",
			plan, "CODE\nANSWER Sir",
		}}
		m, _ := testMind(t, s, Options{MaxAttempts: 1})
		_, err := m.Send(context.Background(), m.Genesis(), "greet")
		require.ErrorIs(t, err, ErrCycleFailed)
		for _, sel := range []string{"greet", "nickname", "title"} {
			_, ok := methodOn(t, m, sel)
			require.False(t, ok, sel)
		}
		recs, _ := m.Cycles(context.Background())
		require.Len(t, recs, 3)
		for _, r := range recs {
			require.Equal(t, Failed, r.Outcome, r.Mission.Selector)
			if r.Mission.Selector == "title" {
				require.True(t, strings.Contains(r.Error, "discarded"), r.Error)
			}
		}
	})
}

func TestKnowledgeCatalogObject(t *testing.T) {
	s := &script{}
	m, _ := testMind(t, s, Options{})
	ctx := context.Background()
	var oid uvm.OID
	require.NoError(t, m.im.View(ctx, func(tx *uvm.Tx) error {
		k, err := tx.Root(RootKnowledge)
		if err != nil {
			return err
		}
		oid = k.OID()
		return nil
	}))
	v, err := m.Send(ctx, oid, "search", "covenant", 2)
	require.NoError(t, err)
	require.Equal(t, []any{map[string]any{"text": "memory says hi about covenant"}}, v)
	for _, bad := range [][]any{{}, {""}, {42}, {"q", 0}, {"q", 1000}, {"q", "x"}, {"q", 1, 2}} {
		_, err := m.Send(ctx, oid, "search", bad...)
		require.Error(t, err, "%v", bad)
		require.False(t, errors.Is(err, ErrCycleFailed), "a bad argument is not a cycle")
	}
}

// A transaction that needs several new methods restarts once per install
// and ends with all of them answering.
func TestOneTransactionNeedingSeveralMethods(t *testing.T) {
	s := &script{replies: []string{plan, "CODE\nANSWER one", plan, "CODE\nANSWER two", plan, "CODE\nANSWER three"}}
	m, r := testMind(t, s, Options{})
	ctx := context.Background()
	runs := 0
	var got []any
	err := m.im.Update(ctx, func(tx *uvm.Tx) error {
		runs++
		got = got[:0]
		g, err := tx.Object(m.Genesis())
		if err != nil {
			return err
		}
		for _, sel := range []string{"first", "second", "third"} {
			v, err := tx.Send(ctx, g, sel)
			if err != nil {
				return err
			}
			got = append(got, v)
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, []any{"one", "two", "three"}, got)
	require.Equal(t, 4, runs, "one run per install, then the run that answers")
	require.Equal(t, int64(3+(1+2+3)), r.runs.Load(), "three dry runs; each run of the function answers what it has so far")
	recs, _ := m.Cycles(ctx)
	require.Len(t, recs, 3)
}

// A method a nested cycle validated for a rejected attempt of its outer
// cycle is not installed when the accepted attempt does without it; its
// record says why.
func TestNestedMethodOfARejectedAttemptIsDiscarded(t *testing.T) {
	s := &script{replies: []string{plan, "CODE\nSEND nickname\nFAIL first try", plan, "CODE\nANSWER BRICK", "CODE\nANSWER plain"}}
	m, _ := testMind(t, s, Options{MaxAttempts: 2})
	v, err := m.Send(context.Background(), m.Genesis(), "greet")
	require.NoError(t, err)
	require.Equal(t, "plain", v)
	_, ok := methodOn(t, m, "nickname")
	require.False(t, ok, "attempt 2 did not use it")
	recs, _ := m.Cycles(context.Background())
	require.Len(t, recs, 2)
	for _, r := range recs {
		switch r.Mission.Selector {
		case "greet":
			require.Equal(t, Complete, r.Outcome)
			last := r.Events[len(r.Events)-1]
			require.Equal(t, EventOutcome, last.Kind, "the stored record ends with its outcome")
		case "nickname":
			require.Equal(t, Failed, r.Outcome)
			require.Contains(t, r.Error, "rejected")
		}
	}
}

// A nested cycle's method that another cycle installed while it waited
// for its outer cycle is kept, not installed again.
func TestPendingMethodInstalledMeanwhileIsKept(t *testing.T) {
	s := &script{replies: []string{plan, "CODE\nSEND nickname", plan, "CODE\nANSWER BRICK"}}
	m, _ := testMind(t, s, Options{})
	m.Subscribe(func(e Event) {
		if e.Kind == EventNote && strings.HasPrefix(e.Text, "validated; installs when") {
			require.NoError(t, m.im.Update(context.Background(), func(tx *uvm.Tx) error {
				g, err := tx.Object(m.Genesis())
				if err != nil {
					return err
				}
				_, err = tx.InstallMethod(g, uvm.Method{Selector: "nickname", Source: "ANSWER ROBIN"})
				return err
			}))
		}
	})
	v, err := m.Send(context.Background(), m.Genesis(), "greet")
	require.NoError(t, err)
	require.Equal(t, "ROBIN", v, "the answer runs on the image as committed: the nickname kept")
	nick, ok := methodOn(t, m, "nickname")
	require.True(t, ok)
	require.Equal(t, 1, nick.Version, "not installed a second time")
	require.Equal(t, "ANSWER ROBIN", nick.Source)
	recs, _ := m.Cycles(context.Background())
	for _, r := range recs {
		if r.Mission.Selector == "nickname" {
			require.Equal(t, Complete, r.Outcome)
			require.Contains(t, r.Events[len(r.Events)-1].Text, "installed by another cycle meanwhile")
		}
	}
}

// An attempt that has started a cycle starts no more, even if its code
// carries on after the restart error: one cycle per run of the function.
func TestOneCyclePerAttempt(t *testing.T) {
	s := &script{replies: []string{plan, "CODE\nANSWER one", plan, "CODE\nANSWER two", plan, "CODE\nANSWER three"}}
	m, _ := testMind(t, s, Options{})
	ctx := context.Background()
	runs := 0
	var got []any
	cyclesAtRun := []int{}
	err := m.im.Update(ctx, func(tx *uvm.Tx) error {
		runs++
		recs, _ := m.Cycles(ctx)
		cyclesAtRun = append(cyclesAtRun, len(recs))
		got = got[:0]
		g, err := tx.Object(m.Genesis())
		if err != nil {
			return err
		}
		for _, sel := range []string{"first", "second", "third"} {
			if v, err := tx.Send(ctx, g, sel); err == nil { // errors ignored
				got = append(got, v)
			}
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, []any{"one", "two", "three"}, got)
	require.Equal(t, []int{0, 1, 2, 3}, cyclesAtRun, "one new cycle per run")
}

func TestNestedCyclesPerCycleAreBounded(t *testing.T) {
	s := &script{replies: []string{plan, "CODE\nSEND a1\nSEND a2\nSEND a3", plan, "CODE\nANSWER 1", plan, "CODE\nANSWER 2", plan, "CODE\nANSWER 3"}}
	m, _ := testMind(t, s, Options{MaxAttempts: 1, MaxNestedCycles: 2})
	_, err := m.Send(context.Background(), m.Genesis(), "greet")
	require.ErrorIs(t, err, ErrNestingLimit)
	require.Contains(t, err.Error(), "already started 2 nested cycles")
	recs, _ := m.Cycles(context.Background())
	require.Len(t, recs, 3, "greet, a1 and a2; a3 was refused")
}
