package psm

import (
	"context"
	"errors"
	"fmt"

	"github.com/batos-dev/batos/uvm"
)

// The cycle is a state machine whose states are prototype objects in the
// image (roots psm.state.IDLE and so on). Each state object names, in its
// slots, the host behaviour that runs in it and where the cycle goes next:
//
//	behaviour   the name of a registered host behaviour (see Behaviours)
//	next        the state entered when the behaviour succeeds
//	retry       the state entered when the behaviour asks for another try
//	            (SYNTHESIZING and VALIDATING: a rejected attempt)
//	on_failure  the state entered when the behaviour fails (FAILED)
//
// The machine is read from the image when a cycle starts, and checked when
// the mind opens, so an image whose states name an unknown behaviour or
// state fails loudly, naming the object and the slot.

// Slots of a state prototype.
const (
	SlotBehaviour = "behaviour"
	SlotNext      = "next"
	SlotRetry     = "retry"
	SlotOnFailure = "on_failure"
)

// Names of the host behaviours the mind registers, one per state.
const (
	BehaviourAccept     = "psm.accept"
	BehaviourDecompose  = "psm.decompose"
	BehaviourDelegate   = "psm.delegate"
	BehaviourSynthesize = "psm.synthesize"
	BehaviourValidate   = "psm.validate"
	BehaviourComplete   = "psm.complete"
	BehaviourFail       = "psm.fail"
)

// ErrStateMachine is returned (wrapped, naming the object and slot) when
// the state prototypes in the image do not describe a cycle this library
// can run: an unknown behaviour, a transition to an unknown state, a
// missing state, or a cycle that does not end.
var ErrStateMachine = errors.New("psm: invalid state machine in the image")

// step is what a behaviour asks the machine to do next.
type step int

const (
	stepNext  step = iota // go to the state's next
	stepRetry             // go to the state's retry
)

// behaviour is host code run in a state. It enters the state (so the
// record and subscribers see it) and does the state's work on the cycle.
type behaviour func(m *Mind, ctx context.Context, c *cycle, s State) (step, error)

// behaviours returns the registered host behaviours by name.
func behaviours() map[string]behaviour {
	return map[string]behaviour{
		BehaviourAccept:     (*Mind).accept,
		BehaviourDecompose:  (*Mind).decompose,
		BehaviourDelegate:   (*Mind).delegate,
		BehaviourSynthesize: (*Mind).synthesize,
		BehaviourValidate:   (*Mind).validateState,
		BehaviourComplete:   (*Mind).complete,
		BehaviourFail:       (*Mind).failed,
	}
}

// Behaviours lists the names of the host behaviours a state prototype's
// behaviour slot may hold.
func Behaviours() []string {
	return []string{BehaviourAccept, BehaviourDecompose, BehaviourDelegate, BehaviourSynthesize, BehaviourValidate, BehaviourComplete, BehaviourFail}
}

// stateDef is one state as read from its prototype.
type stateDef struct {
	oid       uvm.OID
	behaviour behaviour
	name      string // the behaviour's name
	next      State
	retry     State // "" when the state never retries
	onFailure State
}

// machine is the cycle's state machine as read from the image.
type machine map[State]stateDef

// defaultMachine describes the states the awakening incarnates.
var defaultMachine = map[State]struct {
	behaviour, description string
	next, retry            State
}{
	Idle:         {BehaviourAccept, "A mission brief arrives: a message nobody understood, with its arguments and target.", Decomposing, ""},
	Decomposing:  {BehaviourDecompose, "BRICK breaks the mission into one to three search queries for memory.", Delegating, ""},
	Delegating:   {BehaviourDelegate, "The queries search memory; the skill index is searched for methods that already exist.", Synthesizing, ""},
	Synthesizing: {BehaviourSynthesize, "The target's persona writes the method as Go source; a reply without code is asked again.", Validating, Synthesizing},
	Validating:   {BehaviourValidate, "Guardian audit, compile, and a dry run in a discarded transaction; a failure goes back to synthesis with the error.", Complete, Synthesizing},
	Complete:     {BehaviourComplete, "The method is installed as a new version, learned, and committed; the message is resent.", Idle, ""},
	Failed:       {BehaviourFail, "Nothing the cycle did stays in the image; the record says why.", Idle, ""},
}

// incarnateStates creates the state prototypes (or, with existing objects
// found by root, fills in the slots an older image lacks).
func incarnateStates(tx *uvm.Tx) error {
	for _, s := range States() {
		d := defaultMachine[s]
		o, err := tx.Root(StateRoot(s))
		if errors.Is(err, uvm.ErrNotFound) {
			if o, err = tx.New(); err == nil {
				err = tx.SetRoot(StateRoot(s), o)
			}
		}
		if err != nil {
			return err
		}
		slots := []struct {
			name  string
			value any
		}{
			{"name", string(s)},
			{"description", d.description},
			{SlotBehaviour, d.behaviour},
			{SlotNext, string(d.next)},
			{SlotOnFailure, string(Failed)},
		}
		if d.retry != "" {
			slots = append(slots, struct {
				name  string
				value any
			}{SlotRetry, string(d.retry)})
		}
		for _, sl := range slots {
			if o.Has(sl.name) {
				continue
			}
			if err := o.Set(sl.name, sl.value); err != nil {
				return err
			}
		}
	}
	return nil
}

// loadMachine reads and checks the state machine.
func loadMachine(tx *uvm.Tx) (machine, error) {
	known := behaviours()
	mach := machine{}
	for _, s := range States() {
		o, err := tx.Root(StateRoot(s))
		if err != nil {
			return nil, fmt.Errorf("%w: state %s (root %q): %w", ErrStateMachine, s, StateRoot(s), err)
		}
		bad := func(slot, format string, args ...any) error {
			return fmt.Errorf("%w: state %s (object %d), slot %q: %s", ErrStateMachine, s, o.OID(), slot, fmt.Sprintf(format, args...))
		}
		str := func(slot string, required bool) (string, error) {
			v, ok := o.Get(slot)
			if !ok {
				if required {
					return "", bad(slot, "missing")
				}
				return "", nil
			}
			x, isStr := v.(string)
			if !isStr {
				return "", bad(slot, "holds %T, want a string", v)
			}
			return x, nil
		}
		name, err := str(SlotBehaviour, true)
		if err != nil {
			return nil, err
		}
		fn, ok := known[name]
		if !ok {
			return nil, bad(SlotBehaviour, "%q is not a registered behaviour (registered: %v)", name, Behaviours())
		}
		def := stateDef{oid: o.OID(), behaviour: fn, name: name}
		for _, t := range []struct {
			slot     string
			into     *State
			required bool
		}{{SlotNext, &def.next, true}, {SlotRetry, &def.retry, false}, {SlotOnFailure, &def.onFailure, true}} {
			v, err := str(t.slot, t.required)
			if err != nil {
				return nil, err
			}
			if v != "" && !isState(State(v)) {
				return nil, bad(t.slot, "%q is not a state (states: %v)", v, States())
			}
			*t.into = State(v)
		}
		mach[s] = def
	}
	// Following next from any state must come back to IDLE: a machine
	// that loops on success is refused here rather than spinning.
	for _, s := range States() {
		at := mach[s].next
		for n := 0; at != Idle; n++ {
			if n > len(States()) {
				return nil, fmt.Errorf("%w: from state %s, the %q transitions loop without returning to %s", ErrStateMachine, s, SlotNext, Idle)
			}
			at = mach[at].next
		}
		if f := mach[s].onFailure; f != Failed {
			return nil, fmt.Errorf("%w: state %s (object %d), slot %q: %q, want %s", ErrStateMachine, s, mach[s].oid, SlotOnFailure, f, Failed)
		}
	}
	// The way from IDLE must validate, then install.
	seen := ""
	for at := mach[Idle].next; at != Idle; at = mach[at].next {
		switch mach[at].name {
		case BehaviourValidate:
			seen = BehaviourValidate
		case BehaviourComplete:
			if seen == BehaviourValidate {
				seen = BehaviourComplete
			}
		}
	}
	if seen != BehaviourComplete {
		return nil, fmt.Errorf("%w: the %q transitions from %s must pass a state running %q and then one running %q before returning to %s", ErrStateMachine, SlotNext, Idle, BehaviourValidate, BehaviourComplete, Idle)
	}
	if mach[Failed].name != BehaviourFail {
		return nil, fmt.Errorf("%w: state %s (object %d), slot %q: must be %q", ErrStateMachine, Failed, mach[Failed].oid, SlotBehaviour, BehaviourFail)
	}
	return mach, nil
}

func isState(s State) bool {
	_, ok := defaultMachine[s]
	return ok
}

// maxSteps bounds the states one cycle may enter: the retries a state
// machine allows are bounded by MaxAttempts, so a cycle that runs longer is
// looping.
func (m *Mind) maxSteps() int { return 8 + 3*m.opts.MaxAttempts }

// run walks the machine from IDLE until a behaviour's next is IDLE again,
// or a behaviour fails; then the failure state's behaviour runs. It
// returns the state that failed with the error, or "" and nil.
func (mach machine) run(ctx context.Context, m *Mind, c *cycle) (State, error) {
	at := Idle
	for steps := 0; ; steps++ {
		if steps >= m.maxSteps() {
			return at, fmt.Errorf("%w: the cycle entered %d states without ending (last %s)", ErrStateMachine, steps, at)
		}
		def := mach[at]
		st, err := def.behaviour(m, ctx, c, at)
		if err != nil {
			return at, err
		}
		next := def.next
		if st == stepRetry {
			if def.retry == "" {
				return at, fmt.Errorf("%w: state %s (object %d) asked to retry but has no %q slot", ErrStateMachine, at, def.oid, SlotRetry)
			}
			next = def.retry
		}
		if next == Idle {
			return "", nil
		}
		at = next
	}
}
