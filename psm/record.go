package psm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/batos-dev/batos/uvm"
)

// RecordNamespace is the uvm record namespace (uvm.Tx.PutRecord) that
// holds the cycle records. Records are the audit trail: they survive a
// failed cycle, so a test that proves a failure left the image as it was
// leaves them out (Mind.Fingerprint).
const RecordNamespace = "psm.cycles"

// recordNS is RecordNamespace, by its short name.
const recordNS = RecordNamespace

// Mission is what a cycle is asked to do: give Target a method for
// Selector that answers Args, as Intent describes, and meets Examples.
type Mission struct {
	Selector string    `json:"selector"`
	Args     []any     `json:"args,omitempty"`
	Target   uvm.OID   `json:"target"`
	Intent   string    `json:"intent,omitempty"`
	Examples []Example `json:"examples,omitempty"`
}

// MarshalJSON writes the mission with its arguments in a JSON-safe form:
// non-finite floats (which JSON cannot hold) become strings, and other
// floats keep a decimal point (2.0), so that UnmarshalJSON reads an int64
// back as an int64 and a float64 as a float64.
func (m Mission) MarshalJSON() ([]byte, error) {
	type plain Mission
	p := plain(m)
	p.Args = make([]any, len(m.Args))
	for i, a := range m.Args {
		p.Args[i] = jsonSafe(a)
	}
	return json.Marshal(p)
}

// UnmarshalJSON reads what MarshalJSON wrote, numbers typed: one
// without a decimal point or exponent is an int64, any other a float64.
func (m *Mission) UnmarshalJSON(b []byte) error {
	type plain Mission
	var p plain
	if err := decodeNumbers(b, &p); err != nil {
		return err
	}
	p.Args = typedArgs(p.Args)
	*m = Mission(p)
	return nil
}

func jsonSafe(v any) any {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Sprint(x)
		}
		return json.Number(floatText(x))
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonSafe(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonSafe(e)
		}
		return out
	}
	return v
}

// Record is the durable account of one cycle: the mission, every state
// with its time, every prompt and reply, every verdict, and the outcome.
// It is written in transactions of its own, so it survives a cycle whose
// work was rolled back.
type Record struct {
	ID       string    `json:"id"`
	Kernel   string    `json:"kernel,omitempty"` // the kernel that ran it, on an image kernels share
	Parent   string    `json:"parent,omitempty"` // the cycle whose dry run started this one
	Depth    int       `json:"depth"`
	Mission  Mission   `json:"mission"`
	Persona  string    `json:"persona,omitempty"` // who wrote the method
	Model    string    `json:"model,omitempty"`   // the model that spoke for the persona
	Started  time.Time `json:"started"`
	Ended    time.Time `json:"ended,omitzero"`
	State    State     `json:"state"`             // the latest state entered
	Outcome  State     `json:"outcome,omitempty"` // COMPLETE or FAILED once ended; AWAITING_APPROVAL while parked
	FailedIn State     `json:"failed_in,omitempty"`
	Error    string    `json:"error,omitempty"`
	Attempts int       `json:"attempts"`
	Version  int       `json:"version,omitempty"` // the method version installed
	Queries  []string  `json:"queries,omitempty"`
	Fallback bool      `json:"queries_fallback,omitempty"`
	// ModelCalls counts the requests models received for the cycle
	// (retries included, and the infer sends of its dry runs; a nested
	// cycle's are in its own record), and the tokens they reported.
	ModelCalls       int    `json:"model_calls"`
	PromptTokens     int    `json:"prompt_tokens,omitempty"`
	CompletionTokens int    `json:"completion_tokens,omitempty"`
	Source           string `json:"source,omitempty"` // the installed (or last rejected) source
	// What DELEGATING found, as the synthesis prompt shows it: memory
	// snippets and related skills. A replay uses them (see Mind.Replay).
	Snippets []string `json:"snippets,omitempty"`
	Skills   []string `json:"skills,omitempty"`
	Events   []Event  `json:"events"`
	// Approval is set when the cycle waited for a person's decision
	// (generation policy GenerateApprove); Decision once it was taken.
	Approval *Approval `json:"approval,omitempty"`
	Decision *Decision `json:"decision,omitempty"`
	// Conflicts are the tries of COMPLETE whose commit conflicted with a
	// concurrent one; each was followed by a new validation of the same
	// source and a new try (see Options.MaxInstallRetries).
	Conflicts []Conflict `json:"conflicts,omitempty"`
	// Reused is set when the cycle installed a method reusing one the
	// skill index found, rather than one a model wrote (see Options
	// ReuseThreshold); ModelCallsAvoided counts the model calls that
	// saved.
	Reused            *Reuse `json:"reused,omitempty"`
	ModelCallsAvoided int    `json:"model_calls_avoided,omitempty"`
}

// update changes the cycle's record under its lock: the one way the
// record is written.
func (c *cycle) update(fn func(r *Record)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fn(&c.rec)
}

// state returns the latest state the record says the cycle entered.
func (c *cycle) state() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rec.State
}

func (c *cycle) event(ctx context.Context, e Event) {
	c.bus.publish(ctx, c.record(e))
}

// record adds an event to the record without publishing it.
func (c *cycle) record(e Event) Event {
	c.update(func(r *Record) {
		e.Cycle = r.ID
		e.Seq = len(r.Events) + 1
		e.Error = recordedError(e.Error)
		if e.Time.IsZero() {
			e.Time = time.Now().UTC()
		}
		if e.State == "" {
			e.State = r.State
		}
		if e.Kind == EventState {
			r.State = e.State
		}
		r.Events = append(r.Events, e)
	})
	return e
}

// enter moves the cycle to a state. The record in the image is written
// when the cycle starts, in the background once it has been in a later
// state for a moment (so a process that dies leaves the state it died in:
// closeAbandoned),
// and when it ends; the audit log and subscribers see every event as it
// happens.
func (c *cycle) enter(ctx context.Context, s State, text string) {
	c.event(ctx, Event{State: s, Kind: EventState, Text: text})
	if c.replay == nil && s != Idle && s != Complete && s != Failed { // accept saves IDLE; the ends save themselves; a rerun saves nothing
		c.saves.later(ctx, c)
	}
}

func (c *cycle) marshal() ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, err := json.Marshal(&c.rec)
	if err != nil {
		return nil, fmt.Errorf("psm: record %s: %w", c.id, err)
	}
	return b, nil
}

// save writes the record in its own transaction.
func (c *cycle) save(ctx context.Context) error {
	if c.replay != nil {
		return nil // a rerun writes nothing to the image
	}
	c.awaitStart() // a failed start save is overwritten by this one
	b, err := c.marshal()
	if err != nil {
		return err
	}
	return c.im.Update(ctx, func(tx *uvm.Tx) error {
		return tx.PutRecord(recordNS, c.id, b)
	})
}

// saveStart writes the record in the background (see progress): the
// commit's fsync overlaps the state's work (a model call), and the cycle
// does not wait for it. Every later save waits for it (awaitStart), so it
// can never overwrite a later state. A rerun (replay.go) writes nothing.
func (c *cycle) saveStart(ctx context.Context) {
	if c.replay != nil {
		return
	}
	c.saves.save(ctx, c)
}

// awaitStart waits for the background saves and returns the latest one's
// error.
func (c *cycle) awaitStart() error { return c.saves.wait() }

// saveIn writes the record inside a transaction of the caller's.
func (c *cycle) saveIn(tx *uvm.Tx) error {
	c.awaitStart()
	b, err := c.marshal()
	if err != nil {
		return err
	}
	return tx.PutRecord(recordNS, c.id, b)
}

// Cycle reads the record of one cycle.
func (m *Mind) Cycle(ctx context.Context, id string) (Record, error) {
	var rec Record
	err := m.im.View(ctx, func(tx *uvm.Tx) error {
		b, err := tx.GetRecord(recordNS, id)
		if errors.Is(err, uvm.ErrNotFound) {
			return fmt.Errorf("%w: %q", ErrNoSuchCycle, id)
		}
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &rec)
	})
	return rec, err
}

// Cycles lists the records of every cycle, oldest first.
func (m *Mind) Cycles(ctx context.Context) ([]Record, error) {
	var out []Record
	err := m.im.View(ctx, func(tx *uvm.Tx) error {
		return tx.ScanRecords(recordNS, "", func(key string, val []byte) error {
			var rec Record
			if err := json.Unmarshal(val, &rec); err != nil {
				return fmt.Errorf("psm: cycle record %s: %w", key, err)
			}
			out = append(out, rec)
			return nil
		})
	})
	return out, err
}
