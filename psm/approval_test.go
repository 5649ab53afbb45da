package psm_test

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/stretchr/testify/require"
)

func approve(o *psm.Options) { o.Policy = psm.Policy{Generation: psm.GenerateApprove} }

// pendingSend sends sel to genesis under GenerateApprove and returns the
// cycle that awaits approval.
func pendingSend(t *testing.T, m *psm.Mind, sel string, args ...any) string {
	t.Helper()
	_, err := m.Send(ctx, m.Genesis(), sel, args...)
	var ae *psm.ApprovalError
	require.ErrorAs(t, err, &ae)
	require.ErrorIs(t, err, psm.ErrAwaitingApproval)
	require.Equal(t, m.Genesis(), ae.Receiver)
	require.Equal(t, sel, ae.Selector)
	require.NotEmpty(t, ae.CycleID)
	require.Contains(t, err.Error(), ae.CycleID)
	return ae.CycleID
}

// A cycle under GenerateApprove stops after VALIDATING with everything an
// approver needs, survives a restart, and installs when approved; the
// record and the history keep who decided.
func TestApprovalSurvivesARestartThenIsApproved(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "image")
	script := persona.NewScripted([]persona.Reply{plan("counting"), {Persona: "ALFRED", Text: code(tickMarked)}})
	m, _ := openMind(t, dir, script, approve)
	var mu sync.Mutex
	var states []psm.State
	m.Subscribe(func(e psm.Event) {
		if e.Kind == psm.EventState {
			mu.Lock()
			states = append(states, e.State)
			mu.Unlock()
		}
	})
	before, err := m.Fingerprint(ctx)
	require.NoError(t, err)

	id := pendingSend(t, m, "tick")
	mu.Lock()
	require.Equal(t, []psm.State{psm.Idle, psm.Decomposing, psm.Delegating, psm.Synthesizing, psm.Validating, psm.AwaitingApproval}, states)
	mu.Unlock()
	require.Empty(t, versions(t, m, "tick"), "nothing installed")
	after, err := m.Fingerprint(ctx)
	require.NoError(t, err)
	require.Equal(t, before, after, "only the audit trail changed")

	// A second send asks no model: it is told the same.
	require.Equal(t, id, pendingSend(t, m, "tick"))
	require.Len(t, script.Calls(), 2)
	require.NoError(t, m.Close())

	m, _ = openMind(t, dir, persona.NewScripted(nil), nil)
	pending, err := m.Pending(ctx)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	a := pending[0]
	require.Equal(t, id, a.CycleID)
	require.Equal(t, m.Genesis(), a.Object)
	require.Equal(t, "tick", a.Selector)
	require.Equal(t, tickMarked+"\n", a.Source)
	require.Equal(t, "ALFRED", a.Persona)
	require.Equal(t, "host model *persona.Scripted", a.Model)
	require.Equal(t, "1", a.Answer, "the dry run's answer")
	require.Equal(t, []string{"object 3: ticks"}, a.Changed, "what the dry run changed")
	require.False(t, a.Requested.IsZero())
	rec, err := m.Cycle(ctx, id)
	require.NoError(t, err)
	require.Equal(t, psm.AwaitingApproval, rec.Outcome)
	require.Equal(t, psm.AwaitingApproval, rec.State)
	require.Nil(t, rec.Decision)

	v, err := m.Approve(ctx, id, psm.By("ada"), psm.Because("counting is harmless"))
	require.NoError(t, err)
	require.Equal(t, 1, v.Version)
	require.Equal(t, "ALFRED", v.Author)
	require.Equal(t, "ada", v.ApprovedBy)
	require.Equal(t, id, v.CycleID)
	require.True(t, v.Current)
	for want := int64(1); want <= 2; want++ {
		got, err := m.Send(ctx, m.Genesis(), "tick")
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	rec, err = m.Cycle(ctx, id)
	require.NoError(t, err)
	require.Equal(t, psm.Complete, rec.Outcome)
	require.Equal(t, 1, rec.Version)
	require.False(t, rec.Ended.IsZero())
	require.Equal(t, psm.VerdictApproved, rec.Decision.Verdict)
	require.Equal(t, "ada", rec.Decision.By)
	require.Equal(t, "counting is harmless", rec.Decision.Reason)
	require.Equal(t, psm.EventOutcome, rec.Events[len(rec.Events)-1].Kind)

	pending, err = m.Pending(ctx)
	require.NoError(t, err)
	require.Empty(t, pending)
	_, err = m.Approve(ctx, id)
	require.ErrorIs(t, err, psm.ErrNotPending)
	require.Contains(t, err.Error(), "approved by ada")
	require.ErrorIs(t, m.Reject(ctx, id, "too late"), psm.ErrNotPending)
	_, err = m.Approve(ctx, "c-nothing")
	require.ErrorIs(t, err, psm.ErrNoSuchCycle)
}

// A rejected method is never installed; the record says who rejected it
// and why, and the image holds nothing of it.
func TestApprovalRejected(t *testing.T) {
	script := persona.NewScripted([]persona.Reply{plan("greeting"), {Persona: "ALFRED", Text: code(greetSrc)}})
	m := memMind(t, script, approve)
	before, err := m.Fingerprint(ctx)
	require.NoError(t, err)
	id := pendingSend(t, m, "greet")

	require.NoError(t, m.Reject(ctx, id, "we greet in person", psm.By("grace")))
	rec, err := m.Cycle(ctx, id)
	require.NoError(t, err)
	requireFailedRecord(t, rec, psm.AwaitingApproval)
	require.Equal(t, "rejected by grace: we greet in person", rec.Error)
	require.Equal(t, psm.Decision{Verdict: psm.VerdictRejected, By: "grace", Reason: "we greet in person", At: rec.Decision.At}, *rec.Decision)
	require.Empty(t, versions(t, m, "greet"))
	pending, err := m.Pending(ctx)
	require.NoError(t, err)
	require.Empty(t, pending)
	after, err := m.Fingerprint(ctx)
	require.NoError(t, err)
	require.Equal(t, before, after)
	_, err = m.Edit(ctx, id, greetSrc)
	require.ErrorIs(t, err, psm.ErrNotPending)
}

// An edit that fails validation is refused and changes nothing: the
// original candidate still waits. One that passes is installed as the
// decision.
func TestApprovalEdited(t *testing.T) {
	script := persona.NewScripted([]persona.Reply{plan("counting"), {Persona: "ALFRED", Text: code(tickMarked)}})
	m := memMind(t, script, approve)
	id := pendingSend(t, m, "tick")
	before, err := m.Fingerprint(ctx)
	require.NoError(t, err)
	want, err := m.Pending(ctx)
	require.NoError(t, err)

	for _, bad := range []struct{ src, stage string }{
		{tickUnmarked, "audit"},
		{strings.Replace(tickMarked, "return n + 1, nil", "return n + \"1\", nil", 1), "audit"}, // not valid Go: the type check refuses it
		{strings.Replace(tickMarked, "n, _ := self.Get(\"ticks\").(int64)", "n := args[0].(int64)", 1), "dry run"},
	} {
		_, err = m.Edit(ctx, id, bad.src, psm.By("ada"))
		var ie *psm.InstallError
		require.ErrorAs(t, err, &ie, bad.stage)
		require.Equal(t, bad.stage, ie.Stage)
		pending, err := m.Pending(ctx)
		require.NoError(t, err)
		require.Equal(t, want, pending, "the original candidate still waits")
		after, err := m.Fingerprint(ctx)
		require.NoError(t, err)
		require.Equal(t, before, after)
		rec, err := m.Cycle(ctx, id)
		require.NoError(t, err)
		require.Equal(t, psm.AwaitingApproval, rec.Outcome)
	}

	edited := strings.Replace(tickMarked, "return n + 1, nil", "return n + 10, nil", 1)
	edited = strings.Replace(edited, `self.Set("ticks", n+1)`, `self.Set("ticks", n+10)`, 1)
	v, err := m.Edit(ctx, id, edited, psm.By("ada"))
	require.NoError(t, err)
	require.Equal(t, "ada", v.Author)
	require.Equal(t, "ada", v.ApprovedBy)
	require.Equal(t, id, v.CycleID)
	require.Equal(t, edited, v.Source)
	got, err := m.Send(ctx, m.Genesis(), "tick")
	require.NoError(t, err)
	require.Equal(t, int64(10), got)
	rec, err := m.Cycle(ctx, id)
	require.NoError(t, err)
	require.Equal(t, psm.Complete, rec.Outcome)
	require.Equal(t, psm.VerdictEdited, rec.Decision.Verdict)
	require.Equal(t, edited, rec.Decision.Source)
	require.Equal(t, tickMarked+"\n", rec.Approval.Source, "the record keeps what the model wrote")
}

// Methods of nested cycles wait with the outer cycle's and install with
// it when it is approved.
func TestApprovalWithNestedCycles(t *testing.T) {
	script := persona.NewScripted(nestedReplies())
	m := memMind(t, script, approve)
	id := pendingSend(t, m, "outer")
	pending, err := m.Pending(ctx)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	require.Equal(t, `"outer+inner"`, pending[0].Answer)
	require.Len(t, pending[0].Nested, 1)
	require.Equal(t, "inner", pending[0].Nested[0].Selector)
	require.Empty(t, versions(t, m, "inner"), "the nested method waits too")

	_, err = m.Approve(ctx, id)
	require.NoError(t, err)
	got, err := m.Send(ctx, m.Genesis(), "outer")
	require.NoError(t, err)
	require.Equal(t, "outer+inner", got)
	h, err := m.History(ctx, m.Genesis(), "inner")
	require.NoError(t, err)
	require.Len(t, h, 1)
	require.Equal(t, "host", h[0].ApprovedBy)
	rec, err := m.Cycle(ctx, pending[0].Nested[0].CycleID)
	require.NoError(t, err)
	require.Equal(t, psm.Complete, rec.Outcome)
}

// Two people approving at once install the method once: the second is
// told it is not pending any more.
func TestApprovalDecidedOnce(t *testing.T) {
	script := persona.NewScripted([]persona.Reply{plan("greeting"), {Persona: "ALFRED", Text: code(greetSrc)}})
	m := memMind(t, script, approve)
	id := pendingSend(t, m, "greet")
	errs := make(chan error, 2)
	for _, who := range []string{"ada", "grace"} {
		go func() {
			_, err := m.Approve(ctx, id, psm.By(who))
			errs <- err
		}()
	}
	var failed []error
	for range 2 {
		if err := <-errs; err != nil {
			failed = append(failed, err)
		}
	}
	require.Len(t, failed, 1, "one approval wins")
	require.ErrorIs(t, failed[0], psm.ErrNotPending)
	require.Len(t, versions(t, m, "greet"), 1)
}
