package psm

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/batos-dev/batos/uvm"
)

// AwaitingApproval is where a cycle waits for a person's decision under
// the generation policy GenerateApprove: after VALIDATING, before
// COMPLETE. It is a state of the record (Record.State, and its Outcome
// until the decision), not a state prototype: approval is enforced by
// the COMPLETE behaviour, whatever the machine in the image says.
const AwaitingApproval State = "AWAITING_APPROVAL"

// Verdicts of a Decision.
const (
	VerdictApproved = "approved"
	VerdictRejected = "rejected"
	VerdictEdited   = "edited"
)

// Approval is a method a cycle wrote and validated that waits for a
// person's decision: what the approver needs to judge it.
type Approval struct {
	CycleID  string  `json:"cycle"`
	Object   uvm.OID `json:"object"`
	Selector string  `json:"selector"`
	Intent   string  `json:"intent,omitempty"`
	Source   string  `json:"source"`
	Persona  string  `json:"persona"`
	Model    string  `json:"model,omitempty"` // "" for a reuse
	// Reused is, when the cycle reused an installed method instead of
	// asking a model (see Reuse), what it reused; the approved version's
	// history then says "reused …".
	Reused *Reuse `json:"reused,omitempty"`
	// Args are the arguments of the message, which the dry run used.
	Args Args `json:"args,omitempty"`
	// Answer is what the dry run answered, described.
	Answer string `json:"answer"`
	// Changed lists what the dry run changed, and a commit would have
	// written, such as "object 3: ticks".
	Changed []string `json:"changed,omitempty"`
	// Nested are methods that cycles nested in this one validated; they
	// are installed with it, or not at all.
	Nested    []NestedMethod `json:"nested,omitempty"`
	Requested time.Time      `json:"requested"`
}

// NestedMethod is a method a nested cycle validated, waiting with the
// outer cycle's.
type NestedMethod struct {
	CycleID  string  `json:"cycle"`
	Object   uvm.OID `json:"object"`
	Selector string  `json:"selector"`
	Source   string  `json:"source"`
	Persona  string  `json:"persona,omitempty"`
	Model    string  `json:"model,omitempty"`
	Reused   *Reuse  `json:"reused,omitempty"`
	Intent   string  `json:"intent,omitempty"`
	Args     Args    `json:"args,omitempty"`
}

// Decision is what a person decided about a method awaiting approval.
type Decision struct {
	Verdict string    `json:"verdict"` // VerdictApproved, VerdictRejected or VerdictEdited
	By      string    `json:"by"`
	Reason  string    `json:"reason,omitempty"`
	Source  string    `json:"source,omitempty"` // the edited source
	At      time.Time `json:"at"`
}

func approvalKey(oid uvm.OID, selector string) string {
	return fmt.Sprintf("%016x/%s", uint64(oid), selector)
}

// pendingCycle returns the cycle awaiting approval for key, if any, in
// the latest committed state.
func (m *Mind) pendingCycle(ctx context.Context, key flightKey) (string, bool, error) {
	var id string
	err := m.im.View(ctx, func(tx *uvm.Tx) error {
		b, err := tx.GetRecord(approvalNS, approvalKey(key.oid, key.sel))
		if errors.Is(err, uvm.ErrNotFound) {
			return nil
		}
		id = string(b)
		return err
	})
	return id, id != "", err
}

// needsApproval reports whether c's method, or one of the nested methods
// that would install with it, is for an object whose generation policy
// is GenerateApprove.
func (m *Mind) needsApproval(ctx context.Context, c *cycle) (bool, error) {
	targets := []uvm.OID{c.mission.Target}
	for _, p := range c.work.pending {
		if p.work.usedIn == c.work.attempt {
			targets = append(targets, p.mission.Target)
		}
	}
	need := false
	err := m.im.View(ctx, func(tx *uvm.Tx) error {
		for _, oid := range targets {
			o, err := tx.Object(oid)
			if err != nil {
				return err
			}
			p, err := policyOf(tx, o)
			if err != nil {
				return err
			}
			if p.Generation == GenerateApprove {
				need = true
			}
		}
		return nil
	})
	return need, err
}

// parkedError ends the machine's run of a cycle that waits for approval;
// runCycle hands on its *ApprovalError without failing the cycle.
type parkedError struct{ *ApprovalError }

// park parks a top-level cycle whose validated method needs approval:
// its record, with the Approval, and the index entry are written in one
// durable transaction, and the cycle's run ends with a *parkedError. It
// returns nil when no approval is needed.
func (m *Mind) park(ctx context.Context, c *cycle) error {
	w := &c.work
	need, err := m.needsApproval(ctx, c)
	if err != nil || !need {
		return err
	}
	if unused := c.prune(); len(unused) > 0 {
		if err := m.discard(ctx, unused, fmt.Sprintf("discarded: validated for an attempt of cycle %s that was rejected; attempt %d, which passed, did not use it", c.id, w.attempt)); err != nil {
			m.opts.Logger.Error("psm: recording discarded nested cycles", "cycle", c.id, "error", err)
		}
	}
	a := &Approval{
		CycleID: c.id, Object: c.mission.Target, Selector: c.mission.Selector, Intent: c.mission.Intent,
		Source: w.source, Persona: c.persona, Model: c.note().Model, Reused: w.reused, Args: c.mission.Args,
		Answer: w.dryAnswer, Changed: w.dryChanged, Requested: time.Now().UTC(),
	}
	for _, p := range w.pending {
		a.Nested = append(a.Nested, NestedMethod{
			CycleID: p.id, Object: p.mission.Target, Selector: p.mission.Selector, Source: p.work.source,
			Persona: p.persona, Model: p.note().Model, Reused: p.work.reused, Intent: p.mission.Intent, Args: p.mission.Args,
		})
	}
	if err := c.awaitStart(); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	c.update(func(r *Record) { r.Approval, r.Outcome = a, AwaitingApproval })
	text := fmt.Sprintf("%q for object %d awaits approval: Mind.Approve, Reject or Edit cycle %s", c.mission.Selector, c.mission.Target, c.id)
	e := c.record(Event{State: AwaitingApproval, Kind: EventState, Text: text})
	err = m.im.Update(ctx, func(tx *uvm.Tx) error {
		if err := c.saveIn(tx); err != nil {
			return err
		}
		for _, p := range w.pending {
			if err := p.saveIn(tx); err != nil {
				return err
			}
		}
		return tx.PutRecord(approvalNS, approvalKey(c.mission.Target, c.mission.Selector), []byte(c.id))
	})
	if err != nil {
		c.update(func(r *Record) {
			r.Approval, r.Outcome, r.State = nil, "", Validating
			r.Events = r.Events[:len(r.Events)-1]
		})
		return fmt.Errorf("record the approval: %w", err)
	}
	m.bus.publish(ctx, e)
	return &parkedError{&ApprovalError{CycleID: c.id, Receiver: c.mission.Target, Selector: c.mission.Selector}}
}

// Pending lists the cycles awaiting approval, oldest request first.
func (m *Mind) Pending(ctx context.Context) ([]Approval, error) {
	if err := m.enter(); err != nil {
		return nil, err
	}
	defer m.leave()
	var out []Approval
	err := m.im.View(ctx, func(tx *uvm.Tx) error {
		return tx.ScanRecords(approvalNS, "", func(key string, val []byte) error {
			rec, err := readRecord(tx, string(val))
			if err != nil {
				return err
			}
			if rec.Approval != nil && rec.Decision == nil {
				out = append(out, *rec.Approval)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("psm: pending approvals: %w", err)
	}
	slices.SortFunc(out, func(a, b Approval) int { return a.Requested.Compare(b.Requested) })
	return out, nil
}

func readRecord(tx *uvm.Tx, id string) (Record, error) {
	var rec Record
	b, err := tx.GetRecord(recordNS, id)
	if errors.Is(err, uvm.ErrNotFound) {
		return rec, fmt.Errorf("%w: %q", ErrNoSuchCycle, id)
	}
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("psm: cycle record %s: %w", id, err)
	}
	return rec, nil
}

func putRecord(tx *uvm.Tx, rec *Record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("psm: record %s: %w", rec.ID, err)
	}
	return tx.PutRecord(recordNS, rec.ID, b)
}

// addEvent appends e to a record read from the image, as cycle.record
// does to a running cycle's.
func addEvent(rec *Record, e Event) Event {
	e.Cycle, e.Seq = rec.ID, len(rec.Events)+1
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	if e.Kind == EventState {
		rec.State = e.State
	}
	rec.Events = append(rec.Events, e)
	return e
}

// awaiting reads the record of a cycle awaiting approval, or an error
// wrapping ErrNotPending or ErrNoSuchCycle.
func awaiting(tx *uvm.Tx, id string) (Record, error) {
	rec, err := readRecord(tx, id)
	if err != nil {
		return rec, err
	}
	if rec.Approval == nil || rec.Decision != nil || rec.Outcome != AwaitingApproval {
		state := string(rec.Outcome)
		if rec.Decision != nil {
			state = rec.Decision.Verdict + " by " + rec.Decision.By
		}
		return rec, fmt.Errorf("%w: cycle %s (%s)", ErrNotPending, id, cmp.Or(state, "running"))
	}
	return rec, nil
}

// Approve installs the method a cycle awaiting approval wrote (and the
// nested cycles' methods waiting with it) as it was validated, in one
// transaction, and records the decision (By, Because) in the cycle's
// record and in the version's history. The source is audited and
// compiled again, not dry-run again. It works the same after a restart.
// A cycle that is not awaiting approval is an error wrapping
// ErrNotPending.
func (m *Mind) Approve(ctx context.Context, cycleID string, opts ...Option) (Version, error) {
	if err := m.enter(); err != nil {
		return Version{}, err
	}
	defer m.leave()
	return m.decide(ctx, cycleID, VerdictApproved, "", hostOpts(opts))
}

// Edit installs src, a person's edit of the method a cycle awaiting
// approval wrote, in its place: src is validated again (the guardian's
// audit, a compile, and a dry run with the message's arguments, the
// nested cycles' methods installed first). An edit that fails is
// refused with an *InstallError and changes nothing: the cycle still
// awaits a decision. One that passes is installed, with the nested
// methods, and recorded as the decision (By, Because).
func (m *Mind) Edit(ctx context.Context, cycleID, src string, opts ...Option) (Version, error) {
	if err := m.enter(); err != nil {
		return Version{}, err
	}
	defer m.leave()
	return m.decide(ctx, cycleID, VerdictEdited, src, hostOpts(opts))
}

// Reject discards the method a cycle awaiting approval wrote, and the
// nested cycles' methods waiting with it: nothing is installed, the
// cycle ends FAILED in AWAITING_APPROVAL, and its record keeps who
// rejected it (By) and why.
func (m *Mind) Reject(ctx context.Context, cycleID, reason string, opts ...Option) error {
	if err := m.enter(); err != nil {
		return err
	}
	defer m.leave()
	o := hostOpts(opts)
	if reason == "" {
		reason = o.why
	}
	var events []Event
	err := m.im.Update(ctx, func(tx *uvm.Tx) error {
		events = events[:0]
		rec, err := awaiting(tx, cycleID)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		why := fmt.Sprintf("rejected by %s", o.by)
		if reason != "" {
			why += ": " + reason
		}
		rec.Decision = &Decision{Verdict: VerdictRejected, By: o.by, Reason: reason, At: now}
		rec.Outcome, rec.FailedIn, rec.Error, rec.Ended = Failed, AwaitingApproval, why, now
		events = append(events,
			addEvent(&rec, Event{State: Failed, Kind: EventState, Text: "failed in " + string(AwaitingApproval), Error: why}),
			addEvent(&rec, Event{State: Failed, Kind: EventOutcome, Error: why}))
		if err := putRecord(tx, &rec); err != nil {
			return err
		}
		for _, n := range rec.Approval.Nested {
			nr, err := readRecord(tx, n.CycleID)
			if err != nil {
				return err
			}
			nwhy := fmt.Sprintf("discarded: cycle %s, which this one's method was validated for, was %s", rec.ID, why)
			nr.Outcome, nr.FailedIn, nr.Error, nr.Ended = Failed, Complete, nwhy, now
			events = append(events,
				addEvent(&nr, Event{State: Failed, Kind: EventState, Text: "failed in " + string(Complete), Error: nwhy}),
				addEvent(&nr, Event{State: Failed, Kind: EventOutcome, Error: nwhy}))
			if err := putRecord(tx, &nr); err != nil {
				return err
			}
		}
		return tx.DeleteRecord(approvalNS, approvalKey(rec.Approval.Object, rec.Approval.Selector))
	})
	if err != nil {
		return fmt.Errorf("psm: reject cycle %s: %w", cycleID, err)
	}
	for _, e := range events {
		m.bus.publish(ctx, e)
	}
	return nil
}

// decide approves (src == "") or edits a cycle awaiting approval.
func (m *Mind) decide(ctx context.Context, cycleID, verdict, src string, o hostOptions) (Version, error) {
	var a Approval
	err := m.im.View(ctx, func(tx *uvm.Tx) error {
		rec, err := awaiting(tx, cycleID)
		if err == nil {
			a = *rec.Approval
		}
		return err
	})
	if err != nil {
		return Version{}, fmt.Errorf("psm: %s cycle %s: %w", verb(verdict), cycleID, err)
	}
	if verdict == VerdictApproved {
		src = a.Source
	}
	// Audit and compile again: the candidates of the cycle's process are
	// gone after a restart, and the guardian may have changed since.
	nested := make([]pre, len(a.Nested))
	for i, n := range a.Nested {
		cand, err := m.compileHost(ctx, n.Object, n.Selector, n.Source)
		if err != nil {
			return Version{}, err
		}
		nested[i] = pre{n.Object, cand}
	}
	cand, err := m.compileHost(ctx, a.Object, a.Selector, src)
	if err != nil {
		return Version{}, err
	}
	if verdict == VerdictEdited {
		if _, err := m.dryRun(ctx, a.Object, a.Selector, cand, a.Args, nested); err != nil {
			return Version{}, err
		}
	}
	var installed uvm.Method
	var events []Event
	err = m.im.Update(ctx, func(tx *uvm.Tx) error {
		events = events[:0]
		rec, err := awaiting(tx, cycleID)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		rec.Decision = &Decision{Verdict: verdict, By: o.by, Reason: o.why, At: now}
		if verdict == VerdictEdited {
			rec.Decision.Source = src
		}
		for i, n := range a.Nested {
			target, err := tx.Object(n.Object)
			if err != nil {
				return fmt.Errorf("target of %q: %w", n.Selector, err)
			}
			meth, err := m.installIn(ctx, tx, target, nested[i].cand,
				uvm.Method{Persona: n.Persona, CycleID: n.CycleID, Intent: n.Intent},
				versionNote{Model: n.Model, Why: reusedWhy(n.Reused), ApprovedBy: o.by, Args: n.Args})
			if err != nil {
				return err
			}
			nr, err := readRecord(tx, n.CycleID)
			if err != nil {
				return err
			}
			nr.Version, nr.Outcome, nr.Ended = meth.Version, Complete, now
			events = append(events, addEvent(&nr, Event{State: Complete, Kind: EventOutcome, ModelCallsAvoided: nr.ModelCallsAvoided,
				Text: fmt.Sprintf("installed %s v%d on object %d with cycle %s, %s by %s", meth.Selector, meth.Version, n.Object, rec.ID, verdict, o.by)}))
			if err := putRecord(tx, &nr); err != nil {
				return err
			}
		}
		target, err := tx.Object(a.Object)
		if err != nil {
			return fmt.Errorf("target of %q: %w", a.Selector, err)
		}
		meta := uvm.Method{Persona: a.Persona, CycleID: a.CycleID, Intent: a.Intent}
		note := versionNote{Model: a.Model, Why: reusedWhy(a.Reused), ApprovedBy: o.by, Args: a.Args}
		if verdict == VerdictEdited {
			meta.Persona = o.by
			note.By = o.by
			note.Why = cmp.Or(o.why, fmt.Sprintf("edited by %s from the method cycle %s wrote", o.by, a.CycleID))
		}
		if installed, err = m.installIn(ctx, tx, target, cand, meta, note); err != nil {
			return err
		}
		rec.Version, rec.Outcome, rec.Ended = installed.Version, Complete, now
		events = append(events,
			addEvent(&rec, Event{State: Complete, Kind: EventState, Text: fmt.Sprintf("%s by %s", verdict, o.by)}),
			addEvent(&rec, Event{State: Complete, Kind: EventOutcome, ModelCallsAvoided: rec.ModelCallsAvoided, Text: fmt.Sprintf("installed %s v%d on object %d", installed.Selector, installed.Version, a.Object)}))
		if err := putRecord(tx, &rec); err != nil {
			return err
		}
		return tx.DeleteRecord(approvalNS, approvalKey(a.Object, a.Selector))
	})
	if err != nil {
		return Version{}, fmt.Errorf("psm: %s cycle %s: %w", verb(verdict), cycleID, err)
	}
	for _, e := range events {
		m.bus.publish(ctx, e)
	}
	return m.version(ctx, a.Object, installed)
}

// verb names what a person does to reach a verdict, for errors.
func verb(verdict string) string {
	switch verdict {
	case VerdictApproved:
		return "approve"
	case VerdictEdited:
		return "edit"
	}
	return "reject"
}
