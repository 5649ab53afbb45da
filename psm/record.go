package psm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/batos-dev/batos/uvm"
)

// recordNS is the uvm record namespace holding cycle records.
const recordNS = "psm.cycles"

// Mission is what a cycle is asked to do: give Target a method for
// Selector that answers Args, as Intent describes.
type Mission struct {
	Selector string  `json:"selector"`
	Args     []any   `json:"args,omitempty"`
	Target   uvm.OID `json:"target"`
	Intent   string  `json:"intent,omitempty"`
}

// MarshalJSON writes the mission with its arguments in a JSON-safe form:
// non-finite floats (which JSON cannot hold) become strings.
func (m Mission) MarshalJSON() ([]byte, error) {
	type plain Mission
	p := plain(m)
	p.Args = make([]any, len(m.Args))
	for i, a := range m.Args {
		p.Args[i] = jsonSafe(a)
	}
	return json.Marshal(p)
}

func jsonSafe(v any) any {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Sprint(x)
		}
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
	Parent   string    `json:"parent,omitempty"` // the cycle whose dry run started this one
	Depth    int       `json:"depth"`
	Mission  Mission   `json:"mission"`
	Persona  string    `json:"persona,omitempty"` // who wrote the method
	Started  time.Time `json:"started"`
	Ended    time.Time `json:"ended,omitzero"`
	State    State     `json:"state"`             // the latest state entered
	Outcome  State     `json:"outcome,omitempty"` // COMPLETE or FAILED once ended
	FailedIn State     `json:"failed_in,omitempty"`
	Error    string    `json:"error,omitempty"`
	Attempts int       `json:"attempts"`
	Version  int       `json:"version,omitempty"` // the method version installed
	Queries  []string  `json:"queries,omitempty"`
	Fallback bool      `json:"queries_fallback,omitempty"`
	Source   string    `json:"source,omitempty"` // the installed (or last rejected) source
	Events   []Event   `json:"events"`
}

// cycle is a running cycle: its record, where its events go, and the
// work its states share.
type cycle struct {
	mu  sync.Mutex // guards rec and candidate
	rec Record
	bus *bus
	im  *uvm.Image

	key       flightKey
	parent    *cycle      // the cycle whose dry run started this one
	candidate *uvm.Method // the source under dry run
	// pending are nested cycles validated under this one (and theirs):
	// their methods install with this cycle's, or not at all.
	pending []*cycle

	started      chan error // the start record's save, when in flight
	startErr     error
	startAwaited bool

	usedIn    int // the attempt of the cycle holding it as pending that last used it
	children  int // nested cycles its dry runs started
	attempt   int
	snippets  []string
	skills    []string
	source    string
	validated string // the source that last passed VALIDATING
	feedback  string
	method    uvm.Method // validated; installed (with its version) at COMPLETE
	failedIn  State
	failErr   error
}

func (c *cycle) event(ctx context.Context, e Event) {
	c.bus.publish(ctx, c.record(e))
}

// record adds an event to the record without publishing it.
func (c *cycle) record(e Event) Event {
	c.mu.Lock()
	e.Cycle = c.rec.ID
	e.Seq = len(c.rec.Events) + 1
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	if e.State == "" {
		e.State = c.rec.State
	}
	if e.Kind == EventState {
		c.rec.State = e.State
	}
	c.rec.Events = append(c.rec.Events, e)
	c.mu.Unlock()
	return e
}

// enter moves the cycle to a state. The record in the image is written
// when the cycle starts and when it ends; the audit log and subscribers
// see every event as it happens.
func (c *cycle) enter(ctx context.Context, s State, text string) {
	c.event(ctx, Event{State: s, Kind: EventState, Text: text})
}

func (c *cycle) marshal() ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return json.Marshal(&c.rec)
}

// save writes the record in its own transaction.
func (c *cycle) save(ctx context.Context) error {
	c.awaitStart() // a failed start save is overwritten by this one
	b, err := c.marshal()
	if err != nil {
		return fmt.Errorf("psm: record %s: %w", c.rec.ID, err)
	}
	return c.im.Update(ctx, func(tx *uvm.Tx) error {
		return tx.PutRecord(recordNS, c.rec.ID, b)
	})
}

// saveStart writes the record as it is now in the background: the
// commit's fsync overlaps the first model call. Every later save waits for
// it (awaitStart), so it can never overwrite a later state.
func (c *cycle) saveStart(ctx context.Context) {
	c.awaitStart() // a machine that accepts twice: one save at a time
	c.startAwaited = false
	b, err := c.marshal()
	c.started = make(chan error, 1)
	if err != nil {
		c.started <- fmt.Errorf("psm: record %s: %w", c.rec.ID, err)
		return
	}
	go func() {
		c.started <- c.im.Update(ctx, func(tx *uvm.Tx) error {
			return tx.PutRecord(recordNS, c.rec.ID, b)
		})
	}()
}

// awaitStart waits for the start record's save and returns its error.
func (c *cycle) awaitStart() error {
	if c.started != nil && !c.startAwaited {
		c.startErr = <-c.started
		c.startAwaited = true
	}
	return c.startErr
}

// saveIn writes the record inside a transaction of the caller's.
func (c *cycle) saveIn(tx *uvm.Tx) error {
	c.awaitStart()
	b, err := c.marshal()
	if err != nil {
		return fmt.Errorf("psm: record %s: %w", c.rec.ID, err)
	}
	return tx.PutRecord(recordNS, c.rec.ID, b)
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
