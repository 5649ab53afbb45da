package psm

import (
	"context"
	"errors"
	"fmt"
	"go/token"
	"strings"
	"sync"
	"time"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live"
)

// cycle is one running cycle. Its fields differ in who may touch them:
//
//   - id to im are set when the cycle starts and never change.
//   - rec, the durable account, is guarded by mu and written only through
//     update (event and record use it). It leaves the cycle marshalled
//     (save, saveStart) and as published events.
//   - work is the cycle's own state: only the goroutine that runs the
//     cycle touches it, without a lock. That goroutine also runs the
//     cycle's dry runs and so the nested cycles they start (a dry run's
//     sends are served on the goroutine that runs it), which is how a
//     nested cycle reads and changes its outer cycle's work.
type cycle struct {
	id      string
	key     flightKey
	mission Mission
	persona string // who writes the method
	model   string // the model that speaks for persona
	depth   int
	parent  *cycle      // the cycle whose dry run started this one
	replay  *replaying  // the rerun this cycle belongs to (replay.go), or nil
	calls   *modelCalls // the model-call budget, the outermost cycle's
	bus     *bus
	im      *uvm.Image

	mu    sync.Mutex
	rec   Record
	saves progress // the record's background saves

	work cycleWork
}

// cycleWork is what a cycle's states share, on the cycle's goroutine.
type cycleWork struct {
	attempt  int // the synthesis attempt, from 1
	queries  []string
	snippets []string // what memory said
	skills   []string // similar installed methods, described
	similar  []skill  // and as found (reuse.go)
	source   string   // the latest source the persona wrote
	feedback string   // why the last attempt was rejected

	reuse      *reuseProposal // a similar method to try before the model (reuse.go)
	reuseTried bool
	reused     *Reuse // the reuse that passed VALIDATING

	trying    candidate // the candidate under dry run, reached by recursive sends
	validated string    // the source that last passed VALIDATING
	passed    candidate // its candidate
	// method is set at COMPLETE: the metadata the candidate installs
	// with, and for a top-level cycle then the installed method.
	method uvm.Method

	// pending are nested cycles validated under this one (and theirs):
	// their methods install with this cycle's, or not at all.
	pending  []*cycle
	usedIn   int // the attempt of the cycle holding it as pending that last used it
	children int // nested cycles its dry runs started

	failedIn State
	failErr  error

	// revalidating is set while COMPLETE validates the candidate again
	// after a conflict (revalidate): no nested cycle starts then.
	revalidating bool

	dryAnswer  string   // what the validated source's dry run answered, described
	dryChanged []string // and what it changed (uvm.Tx.Changes)
}

// newCycleID names a cycle uniquely within the image: the time, and the
// Mind's own count.
func (m *Mind) newCycleID() string {
	return fmt.Sprintf("c%x-%d", time.Now().UnixNano(), m.cycleIDs.Add(1))
}

// errDryRun discards the dry run's transaction.
var errDryRun = errors.New("psm: dry run (discarded)")

// cycleKey carries the innermost running cycle in the context of its
// work, so that a send its dry run makes knows it is nested.
type cycleKey struct{}

// failedCycleKey marks (uvm.Tx.SetValue) a transaction attempt in which a
// top-level cycle failed.
type failedCycleKey struct{}

// cycleOf returns the innermost cycle a call runs in, or nil.
func cycleOf(ctx context.Context) *cycle {
	c, _ := ctx.Value(cycleKey{}).(*cycle)
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

// root returns the outermost cycle of c.
func (c *cycle) root() *cycle {
	for c.parent != nil {
		c = c.parent
	}
	return c
}

// pendingFor returns the candidate validated by a nested cycle of c or of
// one of its ancestors for key, not yet installed.
func (c *cycle) pendingFor(key flightKey) (candidate, bool) {
	for ; c != nil; c = c.parent {
		for _, p := range c.work.pending {
			if p.key == key {
				p.work.usedIn = c.work.attempt
				return p.work.passed, true
			}
		}
	}
	return nil, false
}

// prune keeps the pending cycles that c's accepted attempt used and
// returns the others, validated for attempts that were rejected.
func (c *cycle) prune() (unused []*cycle) {
	kept := c.work.pending[:0]
	for _, p := range c.work.pending {
		if p.work.usedIn == c.work.attempt {
			kept = append(kept, p)
		} else {
			unused = append(unused, p)
		}
	}
	c.work.pending = kept
	return unused
}

// hook is the image's DoesNotUnderstand hook (uvm.Options): the
// interface uvm declares, over the Mind's unexported notUnderstood.
type hook struct{ m *Mind }

// DoesNotUnderstand implements uvm.DoesNotUnderstand.
func (h hook) DoesNotUnderstand(ctx context.Context, msg *uvm.Message) (any, error) {
	return h.m.notUnderstood(ctx, msg)
}

// notUnderstood turns a message nothing answers into a cognitive cycle.
// A top-level cycle installs the method in a transaction of its own and
// restarts the sender's transaction (uvm.Tx.Restart), which then finds the
// method by lookup: the message is resent on a snapshot that has it. A
// cycle started inside another's dry run installs nothing yet: its
// candidate joins the outer cycle's, and answers in the dry run's
// transaction. A selector that is not a Go identifier starts no cycle.
func (m *Mind) notUnderstood(ctx context.Context, msg *uvm.Message) (any, error) {
	if ctx.Value(hostRunKey{}) != nil {
		return nil, refuseInHostRun(msg)
	}
	if !token.IsIdentifier(msg.Selector) {
		// A method is named after its selector: no cycle could install
		// one, however often it asked the model.
		return nil, fmt.Errorf("psm: object %d does not understand %q, and no cycle can write a method for it (%w): %w",
			msg.Receiver.OID(), msg.Selector, uvm.ErrNotUnderstood, &uvm.NameError{Name: msg.Selector, Reason: "a method's selector must be a Go identifier"})
	}
	key := flightKey{oid: msg.Receiver.OID(), sel: msg.Selector}
	outer := cycleOf(ctx)
	if outer != nil {
		if c := outer.find(key); c != nil {
			// A recursive send during a dry run reaches the candidate itself.
			if cand := c.work.trying; cand != nil {
				return cand.DryRun(ctx, msg.Tx, msg.Receiver, msg.Args...)
			}
			return nil, fmt.Errorf("%w: %s is needed before its source exists", ErrRecursiveCycle, key)
		}
		if cand, ok := outer.pendingFor(key); ok {
			return cand.DryRun(ctx, msg.Tx, msg.Receiver, msg.Args...)
		}
		if root := outer.root(); root.work.revalidating {
			// Validating again asks no model: the fresh snapshot lacks a
			// method the validated attempt did not need to write.
			return nil, fmt.Errorf("%w: the dry run on a fresh snapshot needed %s, which no nested cycle of cycle %s wrote", uvm.ErrConflict, key, root.id)
		}
		if depth := outer.depth + 1; depth > m.opts.MaxNesting {
			return nil, fmt.Errorf("%w: %s would start cycle depth %d (limit %d)", ErrNestingLimit, key, depth, m.opts.MaxNesting)
		}
		if outer.work.children >= m.opts.MaxNestedCycles {
			return nil, fmt.Errorf("%w: %s: cycle %s has already started %d nested cycles (limit %d)", ErrNestingLimit, key, outer.id, outer.work.children, m.opts.MaxNestedCycles)
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
	// installed since. (The sender's transaction gives back its store
	// connection while it reads in another: see Park below.)
	msg.Tx.Park()
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
	if intent, ok, err := m.personas.FacetIntent(msg.Tx, msg.Receiver, msg.Selector); err != nil {
		return nil, err
	} else if ok {
		mission.Intent = intent
	}
	if err := m.screen(ctx, msg, mission.Intent); err != nil {
		return nil, err
	}
	exs, err := missionExamples(msg, outer == nil)
	if err != nil {
		return nil, err
	}
	mission.Examples = exs
	persona, err := m.personas.Of(msg.Tx, msg.Receiver)
	if err != nil {
		return nil, err
	}

	// The sender may be a generated method: the time the cycle takes is
	// not its budget's, and the cycle's dry runs are not part of its call
	// (they get workers and budgets of their own).
	resume := live.Suspend(ctx)
	cctx := live.Detach(ctx)

	// The sender's transaction (a top-level sender's, or the outer
	// cycle's dry run) waits for other transactions now: the cycle's, or
	// another sender's or kernel's. It gives back its store connection
	// meanwhile (uvm.Tx.Park; the reads above took one again), so that
	// waiting transactions cannot hold every connection the cycles need.
	msg.Tx.Park()
	if outer != nil {
		// Nested: no flight. Cycles inside one outer cycle run one at a
		// time (a dry run is one goroutine), and a nested send never waits
		// on another goroutine's cycle: two cycles needing each other
		// would wait for ever.
		outer.work.children++
		c, err := m.runCycle(cctx, mission, persona, outer, key, nil)
		resume()
		if err != nil {
			return nil, err
		}
		return c.work.passed.DryRun(ctx, msg.Tx, msg.Receiver, msg.Args...)
	}
	defer resume()

	gaveUp := func() error { return fmt.Errorf("psm: waiting for the cycle writing %s: %w", key, ctx.Err()) }
	for {
		if ctx.Err() != nil {
			return nil, gaveUp() // before the cycle began: none starts
		}
		fl, leader := m.flights.join(key, cctx)
		if leader {
			go m.lead(fl.ctx, key, fl, mission, persona)
		}
		select {
		case <-fl.done:
		case <-ctx.Done():
			if !m.flights.leave(fl, ctx.Err()) {
				return nil, gaveUp()
			}
			// The last sender to give up cancelled the cycle: this send
			// returns once it has ended and closed its record.
			<-fl.done
			if fl.err != nil {
				return nil, fl.err
			}
			return nil, gaveUp()
		}
		// Senders that all gave up are not this sender's failure; the
		// cycle running out of its own time (Options.CycleTimeout) is:
		// running it again would only time out again.
		if fl.err != nil && fl.abandoned && ctx.Err() == nil && (errors.Is(fl.err, context.Canceled) || errors.Is(fl.err, context.DeadlineExceeded)) {
			if _, ok, err := m.committedMethod(ctx, key); err == nil && ok {
				return nil, msg.Tx.Restart(fmt.Sprintf("%s was installed by another sender's cycle", key))
			}
			continue
		}
		if errors.Is(fl.err, errOtherKernel) || (errors.Is(fl.err, ErrLeaseLost) && ctx.Err() == nil) {
			// Another kernel ran (or runs) the cycle: send again, to its
			// method, its approval, or a cycle of this kernel's own.
			return nil, msg.Tx.Restart(fmt.Sprintf("another kernel's cycle for %s ended", key))
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

// lead runs the cycle of a flight, on its own goroutine and with the
// flight's context, and always finishes it, also when something in the
// cycle panics, so no sender waits for ever.
func (m *Mind) lead(ctx context.Context, key flightKey, fl *flight, mission Mission, persona string) {
	var method uvm.Method
	err := fmt.Errorf("psm: cycle for %s ended abnormally", key)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: panic in the cycle for %s: %v", ErrCycleFailed, key, r)
		}
		m.flights.finish(key, fl, method, err)
	}()
	// On an image other kernels share, one of them runs the cycle.
	lctx, unlease, lerr := m.cycleLease(ctx, key)
	if lerr != nil {
		err = lerr
		return
	}
	defer unlease()
	release, terr := m.turns.take(lctx, key)
	if terr != nil {
		err = terr
		return
	}
	defer release()
	if m.isClosed() {
		// Close began while it waited: Close waits for running cycles,
		// and starts no more.
		err = fmt.Errorf("psm: the cycle writing %s did not start: %w", key, ErrClosed)
		return
	}
	// Another sender's (or kernel's) cycle may have installed it since our
	// first look; else the machine the cycle walks, read in the same
	// snapshot (runCycle reads it again if this read failed, and fails the
	// cycle with its error).
	var mach machine
	var found bool
	err = m.im.View(ctx, func(tx *uvm.Tx) error {
		var lerr error
		if method, found, lerr = lookupCommitted(tx, key); lerr != nil || found {
			return lerr
		}
		if mach, lerr = loadMachine(tx); lerr != nil {
			mach = nil
		}
		return nil
	})
	if err != nil || found {
		return
	}
	var c *cycle
	if c, err = m.runCycle(lctx, mission, persona, nil, key, mach); err == nil {
		method = c.work.method
	}
}

// committedMethod looks the selector up in the latest committed state.
func (m *Mind) committedMethod(ctx context.Context, key flightKey) (uvm.Method, bool, error) {
	var meth uvm.Method
	var ok bool
	err := m.im.View(ctx, func(tx *uvm.Tx) error {
		var err error
		meth, ok, err = lookupCommitted(tx, key)
		return err
	})
	return meth, ok, err
}

// lookupCommitted looks the selector up in tx, a snapshot of the
// committed state.
func lookupCommitted(tx *uvm.Tx, key flightKey) (uvm.Method, bool, error) {
	o, err := tx.Object(key.oid)
	if errors.Is(err, uvm.ErrNotFound) {
		return uvm.Method{}, false, fmt.Errorf("psm: object %d is not committed yet; commit it before sending it a message it does not understand (%q): %w", key.oid, key.sel, err)
	}
	if err != nil {
		return uvm.Method{}, false, err
	}
	f, err := tx.Lookup(o, key.sel)
	if err != nil {
		return uvm.Method{}, false, nil // still not understood (or ambiguous: the cycle will say)
	}
	meth, ok := f.Value.(uvm.Method)
	return meth, ok, nil
}

// runCycle walks the image's state machine for one mission and returns
// the cycle. A top-level cycle has installed its method (work.method); a
// nested one (outer != nil) has validated its candidate (work.passed),
// which installs with the outer cycle's.
//
// mach is the machine to walk, read by the caller in the snapshot that
// found no method; nil reads it now.
func (m *Mind) runCycle(ctx context.Context, mission Mission, persona string, outer *cycle, key flightKey, mach machine) (*cycle, error) {
	c := &cycle{id: m.newCycleID(), key: key, mission: mission, persona: persona, model: m.personas.Model(persona), parent: outer, bus: m.bus, im: m.im}
	c.calls = &modelCalls{limit: m.opts.maxModelCalls()}
	if outer != nil {
		c.depth, c.calls = outer.depth+1, outer.calls
	}
	c.rec = Record{ID: c.id, Mission: mission, Persona: persona, Model: c.model, Started: time.Now().UTC(), Events: []Event{}, Depth: c.depth}
	if outer != nil {
		c.rec.Parent = outer.id
	}
	if m.kernel != nil {
		c.rec.Kernel = m.kernel.name
	}
	c.adoptReplay(ctx)
	ctx = context.WithValue(ctx, cycleKey{}, c)
	if m.opts.CycleTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, m.opts.CycleTimeout)
		defer cancel()
	}
	var err error
	if mach == nil {
		err = m.im.View(ctx, func(tx *uvm.Tx) error {
			var err error
			mach, err = loadMachine(tx)
			return err
		})
	}
	state := Idle
	if err == nil {
		state, err = m.runMachine(ctx, mach, c)
	}
	if err == nil && (c.work.method.Source == "" || (outer == nil && c.work.method.Version == 0 && c.replay == nil)) {
		// A machine changed in the image can pass its checks and still
		// come back to IDLE without having written anything.
		state, err = c.state(), fmt.Errorf("%w: the cycle ended without a validated, installed method", ErrStateMachine)
	}
	if p, ok := err.(*parkedError); ok {
		return nil, p.ApprovalError // waits for a person, not failed
	}
	if err != nil {
		return nil, m.fail(ctx, c, mach, state, err)
	}
	return c, nil
}

// runMachine runs the machine; a panic in a behaviour (or in a
// collaborator it calls) fails the cycle in the state it was in, like any
// other error.
func (m *Mind) runMachine(ctx context.Context, mach machine, c *cycle) (state State, err error) {
	defer func() {
		if r := recover(); r != nil {
			state = c.state()
			err = fmt.Errorf("panic in %s: %v", state, r)
		}
	}()
	return mach.run(ctx, m, c)
}

// fail runs the failure state's behaviour and returns the *CycleError.
func (m *Mind) fail(ctx context.Context, c *cycle, mach machine, state State, err error) error {
	if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
		err = fmt.Errorf("%w (%v)", cause, err) // why the cycle was cancelled: a deadline, a lost lease
	}
	c.work.failedIn, c.work.failErr = state, err
	if def, ok := mach[Failed]; ok {
		if _, ferr := def.behaviour(m, ctx, c, Failed); ferr != nil {
			c.work.failErr = errors.Join(c.work.failErr, ferr)
		}
	} else if _, ferr := m.failed(ctx, c, Failed); ferr != nil { // the machine itself could not be read
		c.work.failErr = errors.Join(c.work.failErr, ferr)
	}
	return &CycleError{CycleID: c.id, State: state, Selector: c.mission.Selector, Attempts: c.work.attempt, Err: c.work.failErr}
}

// accept (IDLE) records the mission brief durably before any work.
func (m *Mind) accept(ctx context.Context, c *cycle, s State) (step, error) {
	text := fmt.Sprintf("mission: %q for object %d", c.mission.Selector, c.mission.Target)
	if c.parent != nil {
		text += fmt.Sprintf(" (nested in cycle %s)", c.parent.id)
	}
	c.enter(ctx, s, text)
	c.saveStart(ctx)
	return stepNext, nil
}

// decompose (DECOMPOSING) asks BRICK for search queries; one repair
// request, then a fallback derived from the mission.
func (m *Mind) decompose(ctx context.Context, c *cycle, s State) (step, error) {
	c.enter(ctx, s, "")
	prompt := planPrompt(c.mission)
	for try := 1; try <= 2; try++ {
		reply, err := m.ask(ctx, c, s, "BRICK", try, prompt)
		if err != nil {
			unusable, again := unusablePlan(err)
			if !unusable || ctx.Err() != nil {
				return 0, err
			}
			c.event(ctx, Event{Kind: EventVerdict, Attempt: try, Error: fmt.Sprintf("unusable plan: %v", err)})
			if !again {
				break
			}
			prompt = planPrompt(c.mission)
			continue
		}
		queries, perr := m.personas.Plan(reply)
		if perr == nil && len(queries) > 0 {
			c.work.queries = queries
			c.update(func(r *Record) { r.Queries = queries })
			return stepNext, nil
		}
		c.event(ctx, Event{Kind: EventVerdict, Attempt: try, Error: fmt.Sprintf("unusable plan: %v", perr)})
		prompt = repairPrompt(c.mission, reply, perr)
	}
	queries := fallbackQueries(c.mission)
	c.work.queries = queries
	c.update(func(r *Record) { r.Queries, r.Fallback = queries, true })
	c.event(ctx, Event{Kind: EventNote, Text: "plan fallback: queries derived from the selector and intent"})
	return stepNext, nil
}

// delegate (DELEGATING) searches memory and the skill index.
func (m *Mind) delegate(ctx context.Context, c *cycle, s State) (step, error) {
	w := &c.work
	c.enter(ctx, s, strings.Join(w.queries, " | "))
	var err error
	if c.replay != nil {
		w.snippets, w.skills, w.similar = c.replay.context(c)
	} else if w.snippets, err = m.knowledge.Recall(ctx, w.queries); err != nil {
		return 0, fmt.Errorf("memory search: %w", err)
	} else if w.similar, err = m.knowledge.Skills(ctx, c.mission.Selector+" "+c.mission.Intent); err != nil {
		return 0, fmt.Errorf("skill search: %w", err)
	} else {
		w.skills = describeSkills(w.similar)
	}
	c.update(func(r *Record) { r.Snippets, r.Skills = w.snippets, w.skills })
	c.event(ctx, Event{Kind: EventNote, Text: fmt.Sprintf("%d memory snippets, %d related skills", len(w.snippets), len(w.skills))})
	m.proposeReuse(ctx, c)
	return stepNext, nil
}

// synthesize (SYNTHESIZING) asks the target's persona for the method. A
// reply without code is asked again while attempts remain.
func (m *Mind) synthesize(ctx context.Context, c *cycle, s State) (step, error) {
	w := &c.work
	if m.reusing(ctx, c, s) {
		return stepNext, nil // a similar method first, without a model call
	}
	w.attempt++
	attempt := w.attempt
	c.update(func(r *Record) { r.Attempts = attempt })
	c.enter(ctx, s, fmt.Sprintf("attempt %d of %d", w.attempt, m.opts.MaxAttempts))
	prompt := synthesisPrompt(c.mission, c.persona, m.opts.allowedImports(), w.snippets, w.skills, w.source, w.feedback)
	reply, err := m.ask(ctx, c, s, c.persona, w.attempt, prompt)
	if err != nil {
		return 0, err
	}
	src, err := m.personas.Code(reply, c.mission.Selector)
	if err != nil {
		c.event(ctx, Event{Kind: EventVerdict, Attempt: w.attempt, Error: err.Error()})
		if w.attempt >= m.opts.MaxAttempts {
			return 0, fmt.Errorf("no usable source after %d attempts; last reply: %w", w.attempt, err)
		}
		w.feedback = feedbackText(err)
		return stepRetry, nil
	}
	w.source, w.validated, w.passed = src, "", nil
	c.update(func(r *Record) { r.Source = src })
	return stepNext, nil
}

// validateState (VALIDATING) audits, compiles and dry-runs the source;
// a failure goes back to synthesis with its text while attempts remain.
func (m *Mind) validateState(ctx context.Context, c *cycle, s State) (step, error) {
	w := &c.work
	c.enter(ctx, s, fmt.Sprintf("attempt %d", w.attempt))
	cand, err := m.validate(ctx, c, w.source, w.attempt)
	if err == nil {
		w.validated, w.passed = w.source, cand
		m.reuseValidated(ctx, c)
		return stepNext, nil
	}
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	if m.reuseRejected(ctx, c, err) {
		return stepRetry, nil
	}
	if w.attempt >= m.opts.MaxAttempts {
		return 0, fmt.Errorf("no valid method after %d attempts; last error: %w", w.attempt, err)
	}
	w.feedback = feedbackText(err)
	return stepRetry, nil
}

// complete (COMPLETE) installs the method with those of the nested cycles
// validated under it, learns them and records them, in one durable
// transaction. A nested cycle installs nothing: it hands its candidate
// (and its own nested ones) to the cycle whose dry run started it.
func (m *Mind) complete(ctx context.Context, c *cycle, s State) (step, error) {
	w := &c.work
	if c.parent == nil && w.passed != nil && w.source != "" && w.source == w.validated {
		if err := m.park(ctx, c); err != nil {
			return 0, err // parked (GenerateApprove), or could not ask
		}
	}
	c.enter(ctx, s, "")
	if w.source == "" || w.source != w.validated || w.passed == nil {
		// Whatever the machine in the image says, only validated source is
		// installed.
		return 0, fmt.Errorf("%w: %s reached %s with source that did not pass validation", ErrStateMachine, c.key, s)
	}
	w.method = uvm.Method{
		Selector: c.mission.Selector,
		Source:   w.source,
		Persona:  c.persona,
		CycleID:  c.id,
		Intent:   c.mission.Intent,
	}
	if unused := c.prune(); len(unused) > 0 {
		if err := m.discard(ctx, unused, fmt.Sprintf("discarded: validated for an attempt of cycle %s that was rejected; attempt %d, which passed, did not use it", c.id, w.attempt)); err != nil {
			// Their methods are not installed either way; only their
			// records could not say so. Not a reason to fail this cycle.
			m.opts.Logger.Error("psm: recording discarded nested cycles", "cycle", c.id, "error", err)
		}
	}
	if p := c.parent; p != nil {
		c.event(ctx, Event{Kind: EventNote, Text: fmt.Sprintf("validated; installs when cycle %s completes", p.id)})
		if err := c.save(ctx); err != nil {
			return 0, fmt.Errorf("record: %w", err)
		}
		w.usedIn = p.work.attempt
		p.work.pending = append(append(p.work.pending, w.pending...), c)
		w.pending = nil
		return stepNext, nil
	}
	if c.replay != nil {
		return c.replay.complete(ctx, c) // a rerun installs nothing
	}
	if err := c.awaitStart(); err != nil {
		return 0, fmt.Errorf("record: %w", err)
	}
	all := append(w.pending, c)
	ended := time.Now().UTC()
	outcomes := make([]Event, len(all))
	err := m.installCommit(ctx, c, func(tx *uvm.Tx) error {
		if err := m.checkLease(ctx, tx); err != nil {
			return err
		}
		for i, x := range all {
			target, err := tx.Object(x.mission.Target)
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
				if installed, err = x.work.passed.Install(ctx, tx, target, x.work.method); err != nil {
					return fmt.Errorf("%s: %w", x.key, err)
				}
				if err := m.knowledge.Learn(ctx, tx, x.mission.Target, installed); err != nil {
					return fmt.Errorf("learn %s: %w", x.key, err)
				}
				if err := putNote(tx, x.mission.Target, installed, x.note()); err != nil {
					return err
				}
			}
			x.work.method = installed
			var events, avoided int
			x.update(func(r *Record) {
				r.Version, r.Outcome, r.Ended = installed.Version, Complete, ended
				events, avoided = len(r.Events), r.ModelCallsAvoided
			})
			// The outcome goes into the record saved with the install, and
			// to subscribers once it has committed.
			outcomes[i] = x.record(Event{Kind: EventOutcome, State: Complete, Text: fmt.Sprintf(text, installed.Selector, installed.Version, x.mission.Target), ModelCallsAvoided: avoided})
			err = x.saveIn(tx)
			x.update(func(r *Record) { r.Events = r.Events[:events] }) // recorded again if this attempt commits
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for _, x := range all {
			x.update(func(r *Record) { r.Version, r.Outcome, r.Ended = 0, "", time.Time{} })
		}
		return 0, fmt.Errorf("install: %w", err)
	}
	for i, x := range all {
		x.update(func(r *Record) { r.Events = append(r.Events, outcomes[i]) })
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
		x.update(func(r *Record) {
			r.FailedIn, r.Outcome, r.Error, r.Ended = Complete, Failed, why, time.Now().UTC()
		})
		x.event(ctx, Event{State: Failed, Kind: EventState, Text: "failed in " + string(Complete), Error: why})
		x.event(ctx, Event{State: Failed, Kind: EventOutcome, Error: why})
		if err := x.save(ctx); err != nil {
			errs = append(errs, fmt.Errorf("psm: saving the record of cycle %s: %w", x.id, err))
		}
	}
	return errors.Join(errs...)
}

// failed (FAILED) records where and why the cycle failed, durably, and
// discards the nested cycles that were waiting to install with it.
func (m *Mind) failed(ctx context.Context, c *cycle, s State) (step, error) {
	w := &c.work
	ctx = context.WithoutCancel(ctx)
	derr := m.discard(ctx, w.pending, fmt.Sprintf("discarded: cycle %s, which this one's method was validated for, failed in %s", c.id, w.failedIn))
	w.pending = nil
	c.update(func(r *Record) {
		r.FailedIn, r.Outcome, r.Error, r.Ended = w.failedIn, Failed, recordedError(w.failErr.Error()), time.Now().UTC()
	})
	c.event(ctx, Event{State: s, Kind: EventState, Text: "failed in " + string(w.failedIn), Error: w.failErr.Error()})
	c.event(ctx, Event{State: s, Kind: EventOutcome, Error: w.failErr.Error()})
	if err := c.save(ctx); err != nil {
		return stepNext, errors.Join(derr, fmt.Errorf("psm: saving the record of cycle %s: %w", c.id, err))
	}
	return stepNext, derr
}

// ask sends a prompt to a persona and records both sides.
func (m *Mind) ask(ctx context.Context, c *cycle, state State, persona string, attempt int, prompt string) (string, error) {
	c.event(ctx, Event{State: state, Kind: EventPrompt, Persona: persona, Attempt: attempt, Text: prompt})
	var reply string
	var err error
	if c.replay != nil {
		reply, err = c.replay.ask(ctx, persona, prompt)
	} else {
		reply, err = m.askModel(ctx, c, nil, persona, prompt)
	}
	if err != nil {
		c.event(ctx, Event{State: state, Kind: EventReply, Persona: persona, Attempt: attempt, Error: err.Error()})
		return "", fmt.Errorf("model of %s: %w", persona, err)
	}
	c.event(ctx, Event{State: state, Kind: EventReply, Persona: persona, Attempt: attempt, Text: reply})
	return reply, nil
}

// validate audits and compiles a candidate (one Compile: the guardian's
// audit, then the runtime's checks and the compile), and dry-runs it: it
// runs on the target inside a transaction that is always discarded, with
// the mission's arguments, and the covenant is checked as a commit would.
// It returns the candidate that passed.
func (m *Mind) validate(ctx context.Context, c *cycle, src string, attempt int) (candidate, error) {
	verdict := func(stage string, err error) error {
		if err != nil {
			c.event(ctx, Event{Kind: EventVerdict, Attempt: attempt, Text: stage, Error: err.Error()})
			return fmt.Errorf("%s: %w", stage, err)
		}
		c.event(ctx, Event{Kind: EventVerdict, Attempt: attempt, Text: stage + ": ok"})
		return nil
	}
	cand, err := m.compiler.Compile(ctx, src, c.mission.Selector)
	var ce *live.CompileError
	if err != nil && !errors.As(err, &ce) {
		return nil, verdict("guardian audit", err)
	}
	verdict("guardian audit", nil)
	if err := verdict("compile", err); err != nil {
		return nil, err
	}
	if err := m.tryCandidate(ctx, c, cand, attempt); err != nil {
		return nil, err
	}
	return cand, nil
}

// tryCandidate dry-runs a compiled candidate on the target, with the
// mission's arguments, then with each of its examples, each in a
// transaction that is always discarded.
func (m *Mind) tryCandidate(ctx context.Context, c *cycle, cand candidate, attempt int) error {
	verdict := func(stage string, err error) error {
		if err != nil {
			c.event(ctx, Event{Kind: EventVerdict, Attempt: attempt, Text: stage, Error: err.Error()})
			return fmt.Errorf("%s: %w", stage, err)
		}
		c.event(ctx, Event{Kind: EventVerdict, Attempt: attempt, Text: stage + ": ok"})
		return nil
	}
	var answer any
	var runErr error
	err := m.im.Update(ctx, func(tx *uvm.Tx) error {
		target, err := tx.Object(c.mission.Target)
		if err != nil {
			return err
		}
		c.work.trying = cand
		defer func() { c.work.trying = nil }()
		answer, runErr = cand.DryRun(ctx, tx, target, c.mission.Args...)
		if runErr == nil {
			runErr = tx.CheckCovenant()
		}
		c.work.dryChanged = c.work.dryChanged[:0]
		for _, ch := range tx.Changes() {
			c.work.dryChanged = append(c.work.dryChanged, ch.String())
		}
		return errDryRun
	})
	if !errors.Is(err, errDryRun) {
		return verdict("dry run", err)
	}
	if runErr != nil {
		return verdict("dry run", runErr)
	}
	c.work.dryAnswer = describe(answer)
	c.event(ctx, Event{Kind: EventNote, Attempt: attempt, Text: fmt.Sprintf("dry run answered %s", describe(answer))})
	verdict("dry run", nil)
	return m.checkExamples(ctx, c, cand, attempt)
}

// describe renders a plain-data answer briefly for the record.
func describe(v any) string {
	s := fmt.Sprintf("%#v", v)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
