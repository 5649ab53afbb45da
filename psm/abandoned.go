package psm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/batos-dev/batos/uvm"
)

// A cycle's record is written when the cycle starts, as it enters each
// state (in the background, overlapping the state's work) and when it
// ends. A process that dies meanwhile (killed, out of power) leaves a
// record with no outcome, whose latest state is where the cycle was. The
// image is a single process's (Badger locks its directory), so when a
// Mind opens, no cycle of its image is running: Open closes every such
// record as FAILED, "abandoned: the process ended during SYNTHESIZING", in
// one transaction. On an image several kernels share (kernels.go), Open
// closes those whose kernel is gone, and a kernel taking over a cycle
// whose lease lapsed closes that cycle's records.

// abandonedText is the error of a record closed at Open.
func abandonedText(s State) string {
	if s == "" {
		s = Idle
	}
	return fmt.Sprintf("abandoned: the process ended during %s", s)
}

// outcomeKey is how a record that has an outcome begins the field in its
// JSON; a record without it has none (the field is omitted when empty).
// Quotes inside JSON strings are escaped, so the key cannot be matched
// inside a prompt or a reply.
var outcomeKey = []byte(`"outcome":"`)

// closeAbandoned closes, in one transaction, the records of the cycles a
// process left open, and returns how many it closed. A nested cycle's
// record waiting, with no outcome, on an outer cycle that ended otherwise
// than COMPLETE or FAILED (one that waits for a person) is left alone. On
// an image other kernels share, so is the record of a cycle whose kernel
// is alive (holds its kernel lease): that cycle is running.
func (m *Mind) closeAbandoned(ctx context.Context) (int, error) {
	now := time.Now()
	closed, err := m.closeOpen(ctx, func(tx *uvm.Tx, rec Record, _ map[string]Record) (string, bool, error) {
		if m.kernel != nil && rec.Kernel != "" {
			if alive, err := kernelAlive(tx, rec.Kernel, now); err != nil || alive {
				return "", false, err
			}
		}
		return abandonedText(rec.State), true, nil
	})
	if err != nil {
		return 0, fmt.Errorf("psm: open: closing abandoned cycle records: %w", err)
	}
	if closed > 0 {
		m.opts.Logger.Warn("psm: closed the records of cycles a process left open", "records", closed)
	}
	return closed, nil
}

// closeTakenOver closes the open records of the cycle for key that the
// kernel named stopped running (its cycle lease lapsed and this kernel
// took it), with those of the cycles nested in it.
func (m *Mind) closeTakenOver(ctx context.Context, from string, key flightKey) (int, error) {
	var root func(rec Record, open map[string]Record) Record
	root = func(rec Record, open map[string]Record) Record {
		if p, ok := open[rec.Parent]; ok && rec.Parent != "" {
			return root(p, open)
		}
		return rec
	}
	return m.closeOpen(ctx, func(_ *uvm.Tx, rec Record, open map[string]Record) (string, bool, error) {
		top := root(rec, open)
		if rec.Kernel != from || top.Parent != "" || top.Mission.Target != key.oid || top.Mission.Selector != key.sel {
			return "", false, nil
		}
		in := rec.State
		if in == "" {
			in = Idle
		}
		return fmt.Sprintf("abandoned: kernel %s stopped during %s; kernel %s took the cycle over", from, in, m.kernel.name), true, nil
	})
}

// closeOpen closes, in one transaction, the open records (those with no
// outcome) for which pick says so, with the reason it gives, and returns
// how many it closed. pick sees every open record, by id.
func (m *Mind) closeOpen(ctx context.Context, pick func(tx *uvm.Tx, rec Record, open map[string]Record) (why string, ok bool, err error)) (int, error) {
	var closed int
	err := m.im.Update(ctx, func(tx *uvm.Tx) error {
		closed = 0
		open := map[string]Record{}
		var ids []string
		err := tx.ScanRecords(recordNS, "", func(key string, val []byte) error {
			if bytes.Contains(val, outcomeKey) {
				return nil // most records: ended, and not decoded
			}
			var rec Record
			if err := json.Unmarshal(val, &rec); err != nil {
				m.opts.Logger.Warn("psm: an unreadable cycle record is left as it is", "cycle", key, "error", err)
				return nil
			}
			if rec.Outcome == "" && rec.ID == key {
				open[key] = rec
				ids = append(ids, key)
			}
			return nil
		})
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		for _, id := range ids {
			rec := open[id]
			if waiting, err := waitsOnParent(tx, rec); err != nil || waiting {
				if err != nil {
					return err
				}
				continue
			}
			why, ok, err := pick(tx, rec, open)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			closeRecord(&rec, why, now)
			b, err := json.Marshal(&rec)
			if err != nil {
				return fmt.Errorf("psm: record %s: %w", rec.ID, err)
			}
			if err := tx.PutRecord(recordNS, rec.ID, b); err != nil {
				return err
			}
			closed++
		}
		return nil
	})
	return closed, err
}

// waitsOnParent reports whether rec is a nested cycle's record that waits
// on an outer cycle that has not ended as COMPLETE or FAILED, but has an
// outcome (it waits for something other than a process).
func waitsOnParent(tx *uvm.Tx, rec Record) (bool, error) {
	if rec.Parent == "" {
		return false, nil
	}
	b, err := tx.GetRecord(recordNS, rec.Parent)
	if errors.Is(err, uvm.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var parent struct {
		Outcome State `json:"outcome"`
	}
	if err := json.Unmarshal(b, &parent); err != nil {
		return false, nil
	}
	return parent.Outcome != "" && parent.Outcome != Complete && parent.Outcome != Failed, nil
}

// closeRecord ends rec as FAILED in its latest state, with the events a
// failure has, for the reason why.
func closeRecord(rec *Record, why string, now time.Time) {
	in := rec.State
	if in == "" {
		in = Idle
	}
	rec.FailedIn, rec.Outcome, rec.Error, rec.Ended, rec.State = in, Failed, why, now, Failed
	for _, e := range []Event{
		{State: Failed, Kind: EventState, Text: "failed in " + string(in), Error: why},
		{State: Failed, Kind: EventOutcome, Error: why},
	} {
		e.Cycle, e.Seq, e.Time = rec.ID, len(rec.Events)+1, now
		rec.Events = append(rec.Events, e)
	}
}
