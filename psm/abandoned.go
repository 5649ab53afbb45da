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
// one transaction.

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
// than COMPLETE or FAILED (one that waits for a person) is left alone.
func (m *Mind) closeAbandoned(ctx context.Context) (int, error) {
	var closed int
	err := m.im.Update(ctx, func(tx *uvm.Tx) error {
		closed = 0
		var open []Record
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
				open = append(open, rec)
			}
			return nil
		})
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		for _, rec := range open {
			if waiting, err := waitsOnParent(tx, rec); err != nil || waiting {
				if err != nil {
					return err
				}
				continue
			}
			closeRecord(&rec, now)
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
	if err != nil {
		return 0, fmt.Errorf("psm: open: closing abandoned cycle records: %w", err)
	}
	if closed > 0 {
		m.opts.Logger.Warn("psm: closed the records of cycles a process left open", "records", closed)
	}
	return closed, nil
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
// failure has.
func closeRecord(rec *Record, now time.Time) {
	in := rec.State
	if in == "" {
		in = Idle
	}
	why := abandonedText(in)
	rec.FailedIn, rec.Outcome, rec.Error, rec.Ended, rec.State = in, Failed, why, now, Failed
	for _, e := range []Event{
		{State: Failed, Kind: EventState, Text: "failed in " + string(in), Error: why},
		{State: Failed, Kind: EventOutcome, Error: why},
	} {
		e.Cycle, e.Seq, e.Time = rec.ID, len(rec.Events)+1, now
		rec.Events = append(rec.Events, e)
	}
}
