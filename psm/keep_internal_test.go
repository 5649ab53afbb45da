package psm

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/batos-dev/batos/uvm"

	"github.com/stretchr/testify/require"
)

// A top-level cycle for nick is under way when another top-level cycle
// (greet) needs nick in its dry run: its nested nick cycle installs with
// greet, which was validated with it. The top-level nick cycle then keeps
// that nick instead of installing its own over it.
func TestTopLevelCycleKeepsAMethodInstalledMeanwhile(t *testing.T) {
	s := &script{replies: []string{plan, plan, "CODE\nSEND nick", plan, "CODE\nANSWER inner", "CODE\nANSWER top"}}
	m, _ := testMind(t, s, Options{})
	var fired atomic.Bool
	m.Subscribe(func(e Event) {
		if e.Kind == EventState && e.State == Synthesizing && e.Cycle != "" {
			if fired.CompareAndSwap(false, true) {
				_, err := m.Send(context.Background(), m.Genesis(), "greet")
				require.NoError(t, err)
			}
		}
	})
	v, err := m.Send(context.Background(), m.Genesis(), "nick")
	require.NoError(t, err)
	require.Equal(t, "inner", v, "the nick greet was validated with answers")
	var vs []uvm.Method
	require.NoError(t, m.im.View(context.Background(), func(tx *uvm.Tx) error {
		g, err := tx.Object(m.Genesis())
		if err != nil {
			return err
		}
		vs, err = tx.MethodVersions(g, "nick")
		return err
	}))
	require.Len(t, vs, 1, "one cycle's nick installed, not two")
	require.Equal(t, "ANSWER inner", vs[0].Source)
}

// Only validated source is installed, whatever the machine in the image
// says: a retry transition from VALIDATING straight to COMPLETE does not
// install a candidate that failed its dry run.
func TestRetryCannotBypassValidation(t *testing.T) {
	s := &script{replies: []string{plan, "CODE\nFAIL the dry run rejects me\nANSWER unvalidated"}}
	m, _ := testMind(t, s, Options{})
	setStateSlot(t, m, Validating, SlotRetry, string(Complete))
	_, err := m.Send(context.Background(), m.Genesis(), "greet")
	require.ErrorIs(t, err, ErrStateMachine)
	meth, ok := methodOn(t, m, "greet")
	require.False(t, ok, "a candidate that failed validation was installed: %q", meth.Source)
}

// A path that synthesizes again after validating does not install the
// source no dry run has seen.
func TestSourceWrittenAfterValidationIsNotInstalled(t *testing.T) {
	s := &script{replies: []string{plan, "CODE\nANSWER validated", "CODE\nFAIL never validated"}}
	m, _ := testMind(t, s, Options{})
	// IDLE → DECOMPOSING → SYNTHESIZING → VALIDATING → DELEGATING(synthesize) → COMPLETE → IDLE
	setStateSlot(t, m, Validating, SlotNext, string(Delegating))
	setStateSlot(t, m, Delegating, SlotBehaviour, BehaviourSynthesize)
	setStateSlot(t, m, Delegating, SlotNext, string(Complete))
	setStateSlot(t, m, Decomposing, SlotNext, string(Synthesizing))
	_, err := m.Send(context.Background(), m.Genesis(), "greet")
	require.ErrorIs(t, err, ErrStateMachine)
	meth, ok := methodOn(t, m, "greet")
	require.False(t, ok, "installed source that was never validated: %q", meth.Source)
}
