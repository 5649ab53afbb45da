package psm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/batos-dev/batos/uvm"
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

// DoesNotUnderstand implements uvm.DoesNotUnderstand: a message nothing
// answers becomes a cognitive cycle, and the method it installs answers
// the message in the sender's transaction.
func (m *Mind) DoesNotUnderstand(ctx context.Context, msg *uvm.Message) (any, error) {
	key := flightKey{oid: msg.Receiver.OID(), sel: msg.Selector}
	ch := chainOf(ctx)
	if ch.contains(key) {
		// A recursive send during a dry run reaches the candidate itself.
		if cand, ok := m.flights.candidate(key); ok {
			return msg.Tx.Run(ctx, msg.Receiver, cand, msg.Args...)
		}
		return nil, fmt.Errorf("%w: %s is needed before its source exists", ErrRecursiveCycle, key)
	}
	if len(ch.keys) > m.opts.MaxNesting {
		return nil, fmt.Errorf("%w: %s would start cycle depth %d (limit %d)", ErrNestingLimit, key, len(ch.keys), m.opts.MaxNesting)
	}
	if err := m.enter(); err != nil {
		return nil, err
	}
	defer m.leave()

	// The sender's snapshot may predate a method another cycle (or a
	// nested one) has installed since: answer with the committed method.
	if meth, ok, err := m.committedMethod(ctx, key); err != nil {
		return nil, err
	} else if ok {
		return msg.Tx.Run(ctx, msg.Receiver, meth, msg.Args...)
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

	for {
		fl, leader := m.flights.join(key)
		if leader {
			m.lead(ctx, key, fl, mission, persona, ch)
		} else {
			if len(ch.keys) > 0 {
				// A nested send never waits on another goroutine's cycle:
				// two cycles needing each other would wait for ever.
				return nil, fmt.Errorf("%w: %s is being written by another cycle; a nested send does not wait for it", ErrRecursiveCycle, key)
			}
			select {
			case <-fl.done:
			case <-ctx.Done():
				return nil, fmt.Errorf("psm: waiting for the cycle writing %s: %w", key, ctx.Err())
			}
			// The leader's own cancellation is not this sender's failure.
			if fl.err != nil && ctx.Err() == nil && (errors.Is(fl.err, context.Canceled) || errors.Is(fl.err, context.DeadlineExceeded)) {
				if meth, ok, err := m.committedMethod(ctx, key); err == nil && ok {
					return msg.Tx.Run(ctx, msg.Receiver, meth, msg.Args...)
				}
				continue
			}
		}
		if fl.err != nil {
			return nil, fl.err
		}
		return msg.Tx.Run(ctx, msg.Receiver, fl.method, msg.Args...)
	}
}

// lead runs the cycle of a flight and always finishes it, also when
// something in the cycle panics, so no sender waits for ever.
func (m *Mind) lead(ctx context.Context, key flightKey, fl *flight, mission Mission, persona string, ch chain) {
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
	method, err = m.runCycle(ctx, mission, persona, ch, key)
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

// runCycle walks the states for one mission and returns the installed method.
func (m *Mind) runCycle(ctx context.Context, mission Mission, persona string, ch chain, key flightKey) (uvm.Method, error) {
	c := &cycle{bus: m.bus, im: m.im, rec: Record{
		ID:      newCycleID(),
		Parent:  ch.cycle,
		Depth:   len(ch.keys),
		Mission: mission,
		Persona: persona,
		Started: time.Now().UTC(),
		Events:  []Event{},
	}}
	ctx = context.WithValue(ctx, chainCtxKey{}, ch.with(key, c.rec.ID))
	if m.opts.CycleTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, m.opts.CycleTimeout)
		defer cancel()
	}
	c.enter(ctx, Idle, fmt.Sprintf("mission: %q for object %d", mission.Selector, mission.Target))
	if err := c.save(ctx); err != nil {
		return uvm.Method{}, m.fail(ctx, c, Idle, fmt.Errorf("record: %w", err))
	}

	method, state, err := m.walk(ctx, c)
	if err != nil {
		return uvm.Method{}, m.fail(ctx, c, state, err)
	}
	return method, nil
}

// walk runs DECOMPOSING through COMPLETE. On failure it reports the state
// that failed.
func (m *Mind) walk(ctx context.Context, c *cycle) (uvm.Method, State, error) {
	mission := c.rec.Mission

	// DECOMPOSING: BRICK writes the research plan.
	c.enter(ctx, Decomposing, "")
	queries, err := m.decompose(ctx, c)
	if err != nil {
		return uvm.Method{}, Decomposing, err
	}

	// DELEGATING: memory and the skill index.
	c.enter(ctx, Delegating, strings.Join(queries, " | "))
	snippets, err := m.parts.recall(ctx, queries)
	if err != nil {
		return uvm.Method{}, Delegating, fmt.Errorf("memory search: %w", err)
	}
	skills, err := m.parts.skills(ctx, mission.Selector+" "+mission.Intent)
	if err != nil {
		return uvm.Method{}, Delegating, fmt.Errorf("skill search: %w", err)
	}
	c.event(ctx, Event{Kind: EventNote, Text: fmt.Sprintf("%d memory snippets, %d related skills", len(snippets), len(skills))})

	// SYNTHESIZING ⇄ VALIDATING, at most MaxAttempts times.
	feedback := ""
	var source string
	for attempt := 1; ; attempt++ {
		c.mu.Lock()
		c.rec.Attempts = attempt
		c.mu.Unlock()
		c.enter(ctx, Synthesizing, fmt.Sprintf("attempt %d of %d", attempt, m.opts.MaxAttempts))
		prompt := synthesisPrompt(mission, c.rec.Persona, snippets, skills, source, feedback)
		reply, err := m.ask(ctx, c, Synthesizing, c.rec.Persona, attempt, prompt)
		if err != nil {
			return uvm.Method{}, Synthesizing, err
		}
		src, err := m.parts.extractCode(reply)
		if err == nil {
			source = src
			c.mu.Lock()
			c.rec.Source = src
			c.mu.Unlock()
			c.enter(ctx, Validating, fmt.Sprintf("attempt %d", attempt))
			err = m.validate(ctx, c, src, attempt)
			if err == nil {
				break
			}
		} else {
			c.event(ctx, Event{Kind: EventVerdict, Attempt: attempt, Error: err.Error()})
		}
		if ctx.Err() != nil {
			return uvm.Method{}, c.rec.State, ctx.Err()
		}
		if attempt >= m.opts.MaxAttempts {
			return uvm.Method{}, Validating, fmt.Errorf("no valid method after %d attempts; last error: %w", attempt, err)
		}
		feedback = err.Error()
	}

	// COMPLETE: install, learn and record in one durable transaction.
	c.enter(ctx, Complete, "")
	var installed uvm.Method
	err = m.im.Update(ctx, func(tx *uvm.Tx) error {
		target, err := tx.Object(mission.Target)
		if err != nil {
			return err
		}
		installed, err = tx.InstallMethod(target, uvm.Method{
			Selector: mission.Selector,
			Source:   source,
			Persona:  c.rec.Persona,
			CycleID:  c.rec.ID,
			Intent:   mission.Intent,
		})
		if err != nil {
			return err
		}
		if err := m.parts.learn(ctx, tx, mission.Target, installed); err != nil {
			return fmt.Errorf("learn: %w", err)
		}
		c.mu.Lock()
		c.rec.Version = installed.Version
		c.rec.Outcome = Complete
		c.rec.Ended = time.Now().UTC()
		c.mu.Unlock()
		return c.saveIn(tx)
	})
	if err != nil {
		c.mu.Lock()
		c.rec.Version, c.rec.Outcome, c.rec.Ended = 0, "", time.Time{}
		c.mu.Unlock()
		return uvm.Method{}, Complete, fmt.Errorf("install: %w", err)
	}
	c.event(ctx, Event{Kind: EventOutcome, State: Complete, Text: fmt.Sprintf("installed %s v%d on object %d", installed.Selector, installed.Version, mission.Target)})
	return installed, Complete, nil
}

// fail ends a cycle in FAILED: the record says where and why, durably.
func (m *Mind) fail(ctx context.Context, c *cycle, state State, err error) error {
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	c.mu.Lock()
	c.rec.FailedIn = state
	c.rec.Outcome = Failed
	c.rec.Error = err.Error()
	c.rec.Ended = time.Now().UTC()
	attempts := c.rec.Attempts
	c.mu.Unlock()
	c.event(ctx, Event{State: Failed, Kind: EventState, Text: "failed in " + string(state), Error: err.Error()})
	c.event(ctx, Event{State: Failed, Kind: EventOutcome, Error: err.Error()})
	if serr := c.save(context.WithoutCancel(ctx)); serr != nil {
		err = errors.Join(err, fmt.Errorf("psm: saving the record of cycle %s: %w", c.rec.ID, serr))
	}
	return &CycleError{CycleID: c.rec.ID, State: state, Selector: c.rec.Mission.Selector, Attempts: attempts, Err: err}
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

// decompose asks BRICK for search queries; one repair request, then a
// fallback derived from the mission.
func (m *Mind) decompose(ctx context.Context, c *cycle) ([]string, error) {
	mission := c.rec.Mission
	prompt := planPrompt(mission)
	for try := 1; try <= 2; try++ {
		reply, err := m.ask(ctx, c, Decomposing, "BRICK", try, prompt)
		if err != nil {
			return nil, err
		}
		queries, perr := m.parts.parsePlan(reply)
		if perr == nil && len(queries) > 0 {
			c.mu.Lock()
			c.rec.Queries = queries
			c.mu.Unlock()
			return queries, nil
		}
		c.event(ctx, Event{Kind: EventVerdict, Attempt: try, Error: fmt.Sprintf("unusable plan: %v", perr)})
		prompt = repairPrompt(mission, reply, perr)
	}
	queries := fallbackQueries(mission)
	c.mu.Lock()
	c.rec.Queries, c.rec.Fallback = queries, true
	c.mu.Unlock()
	c.event(ctx, Event{Kind: EventNote, Text: "plan fallback: queries derived from the selector and intent"})
	return queries, nil
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
		key := flightKey{oid: mission.Target, sel: mission.Selector}
		m.flights.setCandidate(key, &candidate)
		defer m.flights.setCandidate(key, nil)
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
