package imageview

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
)

// Cycle is a cycle record without its events, prompts and source: one row
// of a listing.
type Cycle struct {
	ID       string    `json:"id"`
	Parent   string    `json:"parent,omitempty"`
	Depth    int       `json:"depth"`
	Selector string    `json:"selector"`
	Target   uvm.OID   `json:"target"`
	Persona  string    `json:"persona,omitempty"`
	Started  time.Time `json:"started"`
	Ended    time.Time `json:"ended,omitzero"`
	State    psm.State `json:"state"`
	Outcome  psm.State `json:"outcome,omitempty"` // empty while the cycle is open
	FailedIn psm.State `json:"failed_in,omitempty"`
	Error    string    `json:"error,omitempty"`
	Attempts int       `json:"attempts"`
	Version  int       `json:"version,omitempty"`
	Events   int       `json:"events"`
}

// CycleQuery selects a page of cycles, newest first.
type CycleQuery struct {
	// Limit bounds the page; zero or less means every cycle.
	Limit int
	// Before, when set, starts the page after this cycle id (the last id
	// of the previous page).
	Before string
}

// CyclePage is a page of cycles, newest first.
type CyclePage struct {
	Cycles []Cycle `json:"cycles"`
	Total  int     `json:"total"`          // cycles recorded in all
	Next   string  `json:"next,omitempty"` // Before for the next page; empty on the last
}

func countCycles(tx *uvm.Tx) (int, error) {
	n := 0
	err := tx.ScanRecords(psm.RecordNamespace, "", func(string, []byte) error {
		n++
		return nil
	})
	return n, err
}

// Cycles reads a page of cycle summaries, newest first. Only the records
// on the page are decoded.
func Cycles(tx *uvm.Tx, q CycleQuery) (CyclePage, error) {
	var ids []string // oldest first: record keys sort by start time
	err := tx.ScanRecords(psm.RecordNamespace, "", func(key string, _ []byte) error {
		ids = append(ids, key)
		return nil
	})
	if err != nil {
		return CyclePage{}, err
	}
	page := CyclePage{Cycles: []Cycle{}, Total: len(ids)}
	end := len(ids)
	if q.Before != "" {
		end = 0
		for end < len(ids) && ids[end] < q.Before {
			end++
		}
	}
	start := 0
	if q.Limit > 0 && end-q.Limit > 0 {
		start = end - q.Limit
	}
	for i := end - 1; i >= start; i-- {
		rec, err := CycleRecord(tx, ids[i])
		if err != nil {
			return CyclePage{}, err
		}
		page.Cycles = append(page.Cycles, Summarise(rec))
	}
	if start > 0 {
		page.Next = ids[start]
	}
	return page, nil
}

// CycleRecord reads the whole record of one cycle. A missing one is an
// error wrapping psm.ErrNoSuchCycle.
func CycleRecord(tx *uvm.Tx, id string) (psm.Record, error) {
	var rec psm.Record
	b, err := tx.GetRecord(psm.RecordNamespace, id)
	if errors.Is(err, uvm.ErrNotFound) {
		return rec, fmt.Errorf("%w: %q", psm.ErrNoSuchCycle, id)
	}
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("imageview: cycle record %s: %w", id, err)
	}
	return rec, nil
}

// Summarise drops a record's events, prompts and source.
func Summarise(r psm.Record) Cycle {
	return Cycle{
		ID: r.ID, Parent: r.Parent, Depth: r.Depth,
		Selector: r.Mission.Selector, Target: r.Mission.Target, Persona: r.Persona,
		Started: r.Started, Ended: r.Ended, State: r.State, Outcome: r.Outcome, FailedIn: r.FailedIn,
		Error: r.Error, Attempts: r.Attempts, Version: r.Version, Events: len(r.Events),
	}
}
