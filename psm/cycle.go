package psm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live"
)

// parts are the collaborators a cycle needs. Open wires them to the real
// guardian, live runtime, memory and personas; each is a function so the
// cycle reads as the state matrix it implements.
type parts struct {
	// ask sends a prompt to a persona's model and returns its reply.
	ask func(ctx context.Context, persona, prompt string) (string, error)
	// parsePlan reads 1–3 search queries from a reply.
	parsePlan func(reply string) ([]string, error)
	// extractCode reads Go source from a reply.
	extractCode func(reply string) (string, error)
	// audit checks source against the contract; the error text is fed back
	// to the model.
	audit func(src, selector string) error
	// compile compiles audited source without running it.
	compile func(ctx context.Context, src, selector string) error
	// dryRun runs a candidate on o inside tx (which the caller discards).
	dryRun func(ctx context.Context, tx *uvm.Tx, o *uvm.Object, m uvm.Method, args ...any) (any, error)
	// recall searches memory for each query and returns context snippets.
	recall func(ctx context.Context, queries []string) ([]string, error)
	// search answers the knowledge catalog's search primitive.
	search func(ctx context.Context, query string, k int) ([]any, error)
	// skills finds installed methods similar to the mission.
	skills func(ctx context.Context, query string) ([]string, error)
	// learn records an installed method in memory and the skill index,
	// inside the install transaction.
	learn func(ctx context.Context, tx *uvm.Tx, target uvm.OID, m uvm.Method) error
	// personaOf names the persona that governs an object.
	personaOf func(tx *uvm.Tx, o *uvm.Object) (string, error)
	// intentOf finds a facet's intent for a selector, if the object has one.
	intentOf func(tx *uvm.Tx, o *uvm.Object, selector string) (string, bool, error)
}

var cycleCounter atomic.Uint64

func newCycleID() string {
	return fmt.Sprintf("c%x-%d", time.Now().UnixNano(), cycleCounter.Add(1))
}

// errDryRun discards the dry run's transaction.
var errDryRun = errors.New("psm: dry run (discarded)")

type cycleCtxKey struct{}

// failedCycleKey marks (uvm.Tx.SetValue) a transaction attempt in which a
// top-level cycle failed.
type failedCycleKey struct{}

// cycleOf returns the innermost cycle a call runs in, or nil.
func cycleOf(ctx context.Context) *cycle {
	c, _ := ctx.Value(cycleCtxKey{}).(*cycle)
	return c
}

// find returns the cycle writing key among c and its ancestors.
func (c *cycle) find(key flightKey) *cycle {
	for ; c != nil; c = c.parent {
		if c.key == key {
			return c
		}
	}
	return nil
}

// pendingFor returns a method validated by a nested cycle of c or of one
// of its ancestors, not yet installed.
func (c *cycle) pendingFor(key flightKey) (uvm.Method, bool) {
	for ; c != nil; c = c.parent {
		for _, p := range c.pending {
			if p.key == key {
				p.usedIn = c.attempt
				return p.method, true
			}
		}
	}
	return uvm.Method{}, false
}

// prune keeps the pending cycles that c's accepted attempt used and
// returns the others, validated for attempts that were rejected.
func (c *cycle) prune() (unused []*cycle) {
	kept := c.pending[:0]
	for _, p := range c.pending {
		if p.usedIn == c.attempt {
			kept = append(kept, p)
		} else {
			unused = append(unused, p)
		}
	}
	c.pending = kept
	return unused
}

func (c *cycle) setCandidate(m *uvm.Method) {
	c.mu.Lock()
	c.candidate = m
	c.mu.Unlock()
}

func (c *cycle) candidateMethod() (uvm.Method, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.candidate == nil {
		return uvm.Method{}, false
	}
	return *c.candidate, true
}

// DoesNotUnderstand implements uvm.DoesNotUnderstand: a message nothing
// answers becomes a cognitive cycle. A top-level cycle installs the method
// in a transaction of its own and restarts the sender's transaction
// (uvm.Tx.Restart), which then finds the method by lookup: the message is
// resent on a snapshot that has it. A cycle started inside another's dry
// run installs nothing yet: its method joins the outer cycle's, and
// answers in the dry run's transaction.
func (m *Mind) DoesNotUnderstand(ctx context.Context, msg *uvm.Message) (any, error) {
	key := flightKey{oid: msg.Receiver.OID(), sel: msg.Selector}
	outer := cycleOf(ctx)
	if outer != nil {
		if c := outer.find(key); c != nil {
			// A recursive send during a dry run reaches the candidate itself.
			if cand, ok := c.candidateMethod(); ok {
				return msg.Tx.Run(ctx, msg.Receiver, cand, msg.Args...)
			}
			return nil, fmt.Errorf("%w: %s is needed before its source exists", ErrRecursiveCycle, key)
		}
		if meth, ok := outer.pendingFor(key); ok {
			return msg.Tx.Run(ctx, msg.Receiver, meth, msg.Args...)
		}
		if depth := outer.rec.Depth + 1; depth > m.opts.MaxNesting {
			return nil, fmt.Errorf("%w: %s would start cycle depth %d (limit %d)", ErrNestingLimit, key, depth, m.opts.MaxNesting)
		}
		if outer.children >= m.opts.MaxNestedCycles {
			return nil, fmt.Errorf("%w: %s: cycle %s has already started %d nested cycles (limit %d)", ErrNestingLimit, key, outer.rec.ID, outer.children, m.opts.MaxNestedCycles)
		}
	} else if msg.Tx.Restarting() {
		// This attempt is already doomed: a cycle it started has installed
		// a method. Start no more here; the next attempt will, one at a
		// time, so uvm.MaxRestarts bounds the cycles one transaction runs.
		return nil, msg.Tx.Restart(fmt.Sprintf("%s is needed too; the transaction restarts first", key))
	} else if failed, ok := msg.Tx.Value(failedCycleKey{}).(error); ok {
		// One failed cycle per attempt: code that carries on after the
		// error (a generated method looping over unknown messages) does
		// not get to ask the model again and again.
		return nil, fmt.Errorf("%w: %s: a cycle of this transaction has already failed: %w", ErrCycleFailed, key, failed)
	}
	if err := m.enter(); err != nil {
		return nil, err
	}
	defer m.leave()

	// The sender's snapshot may predate a method another cycle has
	// installed since.
	if meth, ok, err := m.committedMethod(ctx, key); err != nil {
		return nil, err
	} else if ok {
		// Restart only helps a sender whose snapshot predates the method;
		// one that sees it and still got here (a send through an ancestor,
		// an explicit doesNotUnderstand) is answered in place.
		if outer != nil || visibleIn(msg) {
			return msg.Tx.Run(ctx, msg.Receiver, meth, msg.Args...)
		}
		return nil, msg.Tx.Restart(fmt.Sprintf("%s was installed after this transaction began", key))
	}

	mission := Mission{Selector: msg.Selector, Args: msg.Args, Target: msg.Receiver.OID()}
	if intent, ok, err := m.parts.intentOf(msg.Tx, msg.Receiver, msg.Selector); err != nil {
		return nil, err
	} else if ok {
		mission.Intent = intent
	}
	persona, err := m.parts.personaOf(msg.Tx, msg.Receiver)
	if err != nil {
		return nil, err
	}

	// The sender may be a generated method: the time the cycle takes is
	// not its budget's, and the cycle's dry runs are not part of its call
	// (they get workers and budgets of their own).
	resume := live.Suspend(ctx)
	cctx := live.Detach(ctx)

	if outer != nil {
		// Nested: no flight. Cycles inside one outer cycle run one at a
		// time (a dry run is one goroutine), and a nested send never waits
		// on another goroutine's cycle: two cycles needing each other
		// would wait for ever.
		outer.children++
		meth, err := m.runCycle(cctx, mission, persona, outer, key)
		resume()
		if err != nil {
			return nil, err
		}
		return msg.Tx.Run(ctx, msg.Receiver, meth, msg.Args...)
	}
	defer resume()

	for {
		fl, leader := m.flights.join(key)
		if leader {
			m.lead(cctx, key, fl, mission, persona)
		} else {
			select {
			case <-fl.done:
			case <-ctx.Done():
				return nil, fmt.Errorf("psm: waiting for the cycle writing %s: %w", key, ctx.Err())
			}
			// The leader's own cancellation is not this sender's failure.
			if fl.err != nil && ctx.Err() == nil && (errors.Is(fl.err, context.Canceled) || errors.Is(fl.err, context.DeadlineExceeded)) {
				if _, ok, err := m.committedMethod(ctx, key); err == nil && ok {
					return nil, msg.Tx.Restart(fmt.Sprintf("%s was installed by another sender's cycle", key))
				}
				continue
			}
		}
		if fl.err != nil {
			msg.Tx.SetValue(failedCycleKey{}, fl.err)
			return nil, fl.err
		}
		return nil, msg.Tx.Restart(fmt.Sprintf("%s v%d installed", key, fl.method.Version))
	}
}

// ownMethod returns the method o holds in its own slot sel, if any.
func ownMethod(o *uvm.Object, sel string) (uvm.Method, bool) {
	v, ok := o.Get(sel)
	if !ok {
		return uvm.Method{}, false
	}
	meth, ok := v.(uvm.Method)
	return meth, ok
}

// visibleIn reports whether the sender's own snapshot has a method for
// the message on its receiver.
func visibleIn(msg *uvm.Message) bool {
	f, err := msg.Tx.Lookup(msg.Receiver, msg.Selector)
	if err != nil {
		return false
	}
	_, ok := f.Value.(uvm.Method)
	return ok
}

// lead runs the cycle of a flight and always finishes it, also when
// something in the cycle panics, so no sender waits for ever.
func (m *Mind) lead(ctx context.Context, key flightKey, fl *flight, mission Mission, persona string) {
	var method uvm.Method
	err := fmt.Errorf("psm: cycle for %s ended abnormally", key)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: panic in the cycle for %s: %v", ErrCycleFailed, key, r)
		}
		m.flights.finish(key, fl, method, err)
	}()
	// Another sender's cycle may have installed it since our first look.
	if meth, ok, cerr := m.committedMethod(ctx, key); cerr != nil {
		err = cerr
		return
	} else if ok {
		method, err = meth, nil
		return
	}
	method, err = m.runCycle(ctx, mission, persona, nil, key)
}

// committedMethod looks the selector up in the latest committed state.
func (m *Mind) committedMethod(ctx context.Context, key flightKey) (uvm.Method, bool, error) {
	var meth uvm.Method
	var ok bool
	err := m.im.View(ctx, func(tx *uvm.Tx) error {
		o, err := tx.Object(key.oid)
		if errors.Is(err, uvm.ErrNotFound) {
			return fmt.Errorf("psm: object %d is not committed yet; commit it before sending it a message it does not understand (%q): %w", key.oid, key.sel, err)
		}
		if err != nil {
			return err
		}
		f, err := tx.Lookup(o, key.sel)
		if err != nil {
			return nil // still not understood (or ambiguous: the cycle will say)
		}
		meth, ok = f.Value.(uvm.Method)
		return nil
	})
	return meth, ok, err
}

// runCycle walks the image's state machine for one mission. A top-level
// cycle returns its installed method; a nested one (outer != nil) returns
// its validated method, which installs with the outer cycle's.
func (m *Mind) runCycle(ctx context.Context, mission Mission, persona string, outer *cycle, key flightKey) (uvm.Method, error) {
	c := &cycle{bus: m.bus, im: m.im, key: key, parent: outer, rec: Record{
		ID:      newCycleID(),
		Mission: mission,
		Persona: persona,
		Started: time.Now().UTC(),
		Events:  []Event{},
	}}
	if outer != nil {
		c.rec.Parent, c.rec.Depth = outer.rec.ID, outer.rec.Depth+1
	}
	ctx = context.WithValue(ctx, cycleCtxKey{}, c)
	if m.opts.CycleTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, m.opts.CycleTimeout)
		defer cancel()
	}
	var mach machine
	err := m.im.View(ctx, func(tx *uvm.Tx) error {
		var err error
		mach, err = loadMachine(tx)
		return err
	})
	state := Idle
	if err == nil {
		state, err = m.runMachine(ctx, mach, c)
	}
	if err == nil && (c.method.Source == "" || (outer == nil && c.method.Version == 0)) {
		// A machine changed in the image can pass its checks and still
		// come back to IDLE without having written anything.
		state, err = c.rec.State, fmt.Errorf("%w: the cycle ended without a validated, installed method", ErrStateMachine)
	}
	if err != nil {
		return uvm.Method{}, m.fail(ctx, c, mach, state, err)
	}
	return c.method, nil
}

// runMachine runs the machine; a panic in a behaviour (or in a
// collaborator it calls) fails the cycle in the state it was in, like any
// other error.
func (m *Mind) runMachine(ctx context.Context, mach machine, c *cycle) (state State, err error) {
	defer func() {
		if r := recover(); r != nil {
			c.mu.Lock()
			state = c.rec.State
			c.mu.Unlock()
			err = fmt.Errorf("panic in %s: %v", state, r)
		}
	}()
	return mach.run(ctx, m, c)
}

// fail runs the failure state's behaviour and returns the *CycleError.
func (m *Mind) fail(ctx context.Context, c *cycle, mach machine, state State, err error) error {
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	c.failedIn, c.failErr = state, err
	if def, ok := mach[Failed]; ok {
		if _, ferr := def.behaviour(m, ctx, c, Failed); ferr != nil {
			c.failErr = errors.Join(c.failErr, ferr)
		}
	} else if _, ferr := m.failed(ctx, c, Failed); ferr != nil { // the machine itself could not be read
		c.failErr = errors.Join(c.failErr, ferr)
	}
	c.mu.Lock()
	attempts := c.rec.Attempts
	c.mu.Unlock()
	return &CycleError{CycleID: c.rec.ID, State: state, Selector: c.rec.Mission.Selector, Attempts: attempts, Err: c.failErr}
}

// accept (IDLE) records the mission brief durably before any work.
func (m *Mind) accept(ctx context.Context, c *cycle, s State) (step, error) {
	mission := c.rec.Mission
	text := fmt.Sprintf("mission: %q for object %d", mission.Selector, mission.Target)
	if c.parent != nil {
		text += fmt.Sprintf(" (nested in cycle %s)", c.parent.rec.ID)
	}
	c.enter(ctx, s, text)
	c.saveStart(ctx)
	return stepNext, nil
}

// decompose (DECOMPOSING) asks BRICK for search queries; one repair
// request, then a fallback derived from the mission.
func (m *Mind) decompose(ctx context.Context, c *cycle, s State) (step, error) {
	c.enter(ctx, s, "")
	mission := c.rec.Mission
	prompt := planPrompt(mission)
	for try := 1; try <= 2; try++ {
		reply, err := m.ask(ctx, c, s, "BRICK", try, prompt)
		if err != nil {
			return 0, err
		}
		queries, perr := m.parts.parsePlan(reply)
		if perr == nil && len(queries) > 0 {
			c.mu.Lock()
			c.rec.Queries = queries
			c.mu.Unlock()
			return stepNext, nil
		}
		c.event(ctx, Event{Kind: EventVerdict, Attempt: try, Error: fmt.Sprintf("unusable plan: %v", perr)})
		prompt = repairPrompt(mission, reply, perr)
	}
	c.mu.Lock()
	c.rec.Queries, c.rec.Fallback = fallbackQueries(mission), true
	c.mu.Unlock()
	c.event(ctx, Event{Kind: EventNote, Text: "plan fallback: queries derived from the selector and intent"})
	return stepNext, nil
}

// delegate (DELEGATING) searches memory and the skill index.
func (m *Mind) delegate(ctx context.Context, c *cycle, s State) (step, error) {
	c.mu.Lock()
	queries := c.rec.Queries
	c.mu.Unlock()
	c.enter(ctx, s, strings.Join(queries, " | "))
	var err error
	if c.snippets, err = m.parts.recall(ctx, queries); err != nil {
		return 0, fmt.Errorf("memory search: %w", err)
	}
	mission := c.rec.Mission
	if c.skills, err = m.parts.skills(ctx, mission.Selector+" "+mission.Intent); err != nil {
		return 0, fmt.Errorf("skill search: %w", err)
	}
	c.event(ctx, Event{Kind: EventNote, Text: fmt.Sprintf("%d memory snippets, %d related skills", len(c.snippets), len(c.skills))})
	return stepNext, nil
}

// synthesize (SYNTHESIZING) asks the target's persona for the method. A
// reply without code is asked again while attempts remain.
func (m *Mind) synthesize(ctx context.Context, c *cycle, s State) (step, error) {
	c.attempt++
	c.mu.Lock()
	c.rec.Attempts = c.attempt
	c.mu.Unlock()
	c.enter(ctx, s, fmt.Sprintf("attempt %d of %d", c.attempt, m.opts.MaxAttempts))
	prompt := synthesisPrompt(c.rec.Mission, c.rec.Persona, c.snippets, c.skills, c.source, c.feedback)
	reply, err := m.ask(ctx, c, s, c.rec.Persona, c.attempt, prompt)
	if err != nil {
		return 0, err
	}
	src, err := m.parts.extractCode(reply)
	if err != nil {
		c.event(ctx, Event{Kind: EventVerdict, Attempt: c.attempt, Error: err.Error()})
		if c.attempt >= m.opts.MaxAttempts {
			return 0, fmt.Errorf("no usable source after %d attempts; last reply: %w", c.attempt, err)
		}
		c.feedback = err.Error()
		return stepRetry, nil
	}
	c.source, c.validated = src, ""
	c.mu.Lock()
	c.rec.Source = src
	c.mu.Unlock()
	return stepNext, nil
}

// validateState (VALIDATING) audits, compiles and dry-runs the source;
// a failure goes back to synthesis with its text while attempts remain.
func (m *Mind) validateState(ctx context.Context, c *cycle, s State) (step, error) {
	c.enter(ctx, s, fmt.Sprintf("attempt %d", c.attempt))
	err := m.validate(ctx, c, c.source, c.attempt)
	if err == nil {
		c.validated = c.source
		return stepNext, nil
	}
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	if c.attempt >= m.opts.MaxAttempts {
		return 0, fmt.Errorf("no valid method after %d attempts; last error: %w", c.attempt, err)
	}
	c.feedback = err.Error()
	return stepRetry, nil
}

// complete (COMPLETE) installs the method with those of the nested cycles
// validated under it, learns them and records them, in one durable
// transaction. A nested cycle installs nothing: it hands its method (and
// its own nested ones) to the cycle whose dry run started it.
func (m *Mind) complete(ctx context.Context, c *cycle, s State) (step, error) {
	c.enter(ctx, s, "")
	if c.source == "" || c.source != c.validated {
		// Whatever the machine in the image says, only validated source is
		// installed.
		return 0, fmt.Errorf("%w: %s reached %s with source that did not pass validation", ErrStateMachine, c.key, s)
	}
	mission := c.rec.Mission
	c.method = uvm.Method{
		Selector: mission.Selector,
		Source:   c.source,
		Persona:  c.rec.Persona,
		CycleID:  c.rec.ID,
		Intent:   mission.Intent,
	}
	if unused := c.prune(); len(unused) > 0 {
		if err := m.discard(ctx, unused, fmt.Sprintf("discarded: validated for an attempt of cycle %s that was rejected; attempt %d, which passed, did not use it", c.rec.ID, c.attempt)); err != nil {
			// Their methods are not installed either way; only their
			// records could not say so. Not a reason to fail this cycle.
			m.opts.Logger.Error("psm: recording discarded nested cycles", "cycle", c.rec.ID, "error", err)
		}
	}
	if p := c.parent; p != nil {
		c.event(ctx, Event{Kind: EventNote, Text: fmt.Sprintf("validated; installs when cycle %s completes", p.rec.ID)})
		if err := c.save(ctx); err != nil {
			return 0, fmt.Errorf("record: %w", err)
		}
		c.usedIn = p.attempt
		p.pending = append(append(p.pending, c.pending...), c)
		c.pending = nil
		return stepNext, nil
	}
	if err := c.awaitStart(); err != nil {
		return 0, fmt.Errorf("record: %w", err)
	}
	all := append(c.pending, c)
	ended := time.Now().UTC()
	outcomes := make([]Event, len(all))
	err := m.im.Update(ctx, func(tx *uvm.Tx) error {
		for i, x := range all {
			target, err := tx.Object(x.rec.Mission.Target)
			if err != nil {
				return fmt.Errorf("target of %s: %w", x.key, err)
			}
			var installed uvm.Method
			text := "installed %s v%d on object %d"
			if existing, ok := ownMethod(target, x.key.sel); ok {
				// A cycle starts only for a selector its target does not
				// hold, so another cycle (nested in another outer cycle,
				// which waits on no flight) installed it since, and other
				// methods may have been validated with it: keep that one.
				installed, text = existing, "%s v%d on object %d was installed by another cycle meanwhile; not installed again"
			} else {
				if installed, err = tx.InstallMethod(target, x.method); err != nil {
					return fmt.Errorf("%s: %w", x.key, err)
				}
				if err := m.parts.learn(ctx, tx, x.rec.Mission.Target, installed); err != nil {
					return fmt.Errorf("learn %s: %w", x.key, err)
				}
			}
			x.method = installed
			x.mu.Lock()
			x.rec.Version, x.rec.Outcome, x.rec.Ended = installed.Version, Complete, ended
			events := len(x.rec.Events)
			x.mu.Unlock()
			// The outcome goes into the record saved with the install, and
			// to subscribers once it has committed.
			outcomes[i] = x.record(Event{Kind: EventOutcome, State: Complete, Text: fmt.Sprintf(text, installed.Selector, installed.Version, x.rec.Mission.Target)})
			err = x.saveIn(tx)
			x.mu.Lock()
			x.rec.Events = x.rec.Events[:events] // recorded again if this attempt commits
			x.mu.Unlock()
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for _, x := range all {
			x.mu.Lock()
			x.rec.Version, x.rec.Outcome, x.rec.Ended = 0, "", time.Time{}
			x.mu.Unlock()
		}
		return 0, fmt.Errorf("install: %w", err)
	}
	for i, x := range all {
		x.mu.Lock()
		x.rec.Events = append(x.rec.Events, outcomes[i])
		x.mu.Unlock()
		m.bus.publish(ctx, outcomes[i])
	}
	return stepNext, nil
}

// discard ends nested cycles whose methods will not be installed: each
// record says why, durably.
func (m *Mind) discard(ctx context.Context, xs []*cycle, why string) error {
	ctx = context.WithoutCancel(ctx)
	var errs []error
	for _, x := range xs {
		x.mu.Lock()
		x.rec.FailedIn, x.rec.Outcome, x.rec.Error, x.rec.Ended = Complete, Failed, why, time.Now().UTC()
		x.mu.Unlock()
		x.event(ctx, Event{State: Failed, Kind: EventState, Text: "failed in " + string(Complete), Error: why})
		x.event(ctx, Event{State: Failed, Kind: EventOutcome, Error: why})
		if err := x.save(ctx); err != nil {
			errs = append(errs, fmt.Errorf("psm: saving the record of cycle %s: %w", x.rec.ID, err))
		}
	}
	return errors.Join(errs...)
}

// failed (FAILED) records where and why the cycle failed, durably, and
// discards the nested cycles that were waiting to install with it.
func (m *Mind) failed(ctx context.Context, c *cycle, s State) (step, error) {
	ctx = context.WithoutCancel(ctx)
	derr := m.discard(ctx, c.pending, fmt.Sprintf("discarded: cycle %s, which this one's method was validated for, failed in %s", c.rec.ID, c.failedIn))
	c.pending = nil
	c.mu.Lock()
	c.rec.FailedIn = c.failedIn
	c.rec.Outcome = Failed
	c.rec.Error = c.failErr.Error()
	c.rec.Ended = time.Now().UTC()
	c.mu.Unlock()
	c.event(ctx, Event{State: s, Kind: EventState, Text: "failed in " + string(c.failedIn), Error: c.failErr.Error()})
	c.event(ctx, Event{State: s, Kind: EventOutcome, Error: c.failErr.Error()})
	if err := c.save(ctx); err != nil {
		return stepNext, errors.Join(derr, fmt.Errorf("psm: saving the record of cycle %s: %w", c.rec.ID, err))
	}
	return stepNext, derr
}

// ask sends a prompt to a persona and records both sides.
func (m *Mind) ask(ctx context.Context, c *cycle, state State, persona string, attempt int, prompt string) (string, error) {
	c.event(ctx, Event{State: state, Kind: EventPrompt, Persona: persona, Attempt: attempt, Text: prompt})
	reply, err := m.parts.ask(ctx, persona, prompt)
	if err != nil {
		c.event(ctx, Event{State: state, Kind: EventReply, Persona: persona, Attempt: attempt, Error: err.Error()})
		return "", fmt.Errorf("model of %s: %w", persona, err)
	}
	c.event(ctx, Event{State: state, Kind: EventReply, Persona: persona, Attempt: attempt, Text: reply})
	return reply, nil
}

// validate audits, compiles and dry-runs a candidate. The dry run installs
// the candidate on the target inside a transaction that is always
// discarded, sends the mission's message, and checks the covenant.
func (m *Mind) validate(ctx context.Context, c *cycle, src string, attempt int) error {
	mission := c.rec.Mission
	verdict := func(stage string, err error) error {
		if err != nil {
			c.event(ctx, Event{Kind: EventVerdict, Attempt: attempt, Text: stage, Error: err.Error()})
			return fmt.Errorf("%s: %w", stage, err)
		}
		c.event(ctx, Event{Kind: EventVerdict, Attempt: attempt, Text: stage + ": ok"})
		return nil
	}
	if err := verdict("guardian audit", m.parts.audit(src, mission.Selector)); err != nil {
		return err
	}
	if err := verdict("compile", m.parts.compile(ctx, src, mission.Selector)); err != nil {
		return err
	}
	var answer any
	var runErr error
	err := m.im.Update(ctx, func(tx *uvm.Tx) error {
		target, err := tx.Object(mission.Target)
		if err != nil {
			return err
		}
		candidate := uvm.Method{Selector: mission.Selector, Source: src, Persona: c.rec.Persona, CycleID: c.rec.ID, Policy: PolicyIsolated}
		c.setCandidate(&candidate)
		defer c.setCandidate(nil)
		answer, runErr = m.parts.dryRun(ctx, tx, target, candidate, mission.Args...)
		if runErr == nil {
			runErr = tx.CheckCovenant()
		}
		return errDryRun
	})
	if !errors.Is(err, errDryRun) {
		return verdict("dry run", err)
	}
	if runErr != nil {
		return verdict("dry run", runErr)
	}
	c.event(ctx, Event{Kind: EventNote, Attempt: attempt, Text: fmt.Sprintf("dry run answered %s", describe(answer))})
	return verdict("dry run", nil)
}

// describe renders a plain-data answer briefly for the record.
func describe(v any) string {
	s := fmt.Sprintf("%#v", v)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
