package psm

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/batos-dev/batos/uvm"
)

// Retention.
//
// Cycle records are the audit trail, and they grow with every cycle.
// Prune removes old ones, by age or by count, but never one still needed:
//
//   - a cycle still running, or awaiting approval (Outcome
//     AWAITING_APPROVAL and no Decision);
//   - the cycle that installed a method's current version (Mind.Replay
//     and the record of why it exists);
//   - the cycle that installed an older version whose history reads the
//     record (Mind.History takes the model and the arguments from it for
//     versions installed before the version notes kept them).
//
// A cycle and the cycles nested in it go together: all are kept when one
// must be. Method versions and their notes are part of the image, not of
// the audit trail, and are never pruned.
//
// The audit log (Options.AuditLog) is an io.Writer the host owns: its
// rotation is the host's, with whatever rotating writer it uses for its
// other logs.

// PruneOptions say which cycle records Prune removes: those of cycles
// that ended longer than MaxAge ago, and those beyond the newest
// MaxRecords. Records are counted newest first, by when their top-level
// cycle started, a cycle with the cycles nested in it: the newest
// MaxRecords are kept, and so are the nested cycles of one of them that
// cross the count; no older record is kept for the count. A zero field
// prunes nothing by its measure; a negative one is an error wrapping
// ErrPruneOptions.
type PruneOptions struct {
	MaxAge     time.Duration
	MaxRecords int
	// DryRun reports what would be pruned, and removes nothing.
	DryRun bool
}

func (o PruneOptions) zero() bool { return o.MaxAge == 0 && o.MaxRecords == 0 }

// check refuses negative limits, which would otherwise read as zero
// (and, given to Prune, as "apply Options.Retention").
func (o PruneOptions) check() error {
	if o.MaxAge < 0 || o.MaxRecords < 0 {
		return fmt.Errorf("%w: MaxAge %v and MaxRecords %d must not be negative", ErrPruneOptions, o.MaxAge, o.MaxRecords)
	}
	return nil
}

// Reasons a record the rules would prune is kept (PruneReport.Kept).
const (
	KeptRunning       = "running"
	KeptAwaiting      = "awaiting approval"
	KeptCurrent       = "installed a current method version"
	KeptHistory       = "a method version's history reads it"
	KeptWithRelatives = "nested in, or holding, a kept cycle"
)

// PruneReport is what Prune did. Every record examined is counted once:
// Examined is len(Pruned) + Within + the sum of Kept.
type PruneReport struct {
	Examined int      // cycle records read
	Pruned   []string // ids of the records removed (or, with DryRun, that would be), oldest first
	// Within counts the records the limits keep: ended within MaxAge, or
	// among the newest MaxRecords (a cycle with the cycles nested in it).
	Within int
	// Kept counts, by reason, the records the rules would have pruned but
	// that are still needed.
	Kept map[string]int
}

// Prune removes old cycle records from the image, as opts says (or, for
// zero opts, Options.Retention), and reports what it removed and what it
// kept that the rules would have pruned. It never removes a record still
// needed (see Retention in the package documentation). Records are
// removed in transactions of their own, a batch at a time, a cycle and
// the cycles nested in it in the same one; cycles may run meanwhile. A
// prune stopped midway (a cancelled context) returns the error with the
// report of the batches it removed. A negative MaxAge or MaxRecords is an error wrapping
// ErrPruneOptions, and prunes nothing.
func (m *Mind) Prune(ctx context.Context, opts PruneOptions) (PruneReport, error) {
	if err := m.enter(); err != nil {
		return PruneReport{}, err
	}
	defer m.leave()
	if err := opts.check(); err != nil {
		return PruneReport{}, fmt.Errorf("psm: prune: %w", err)
	}
	if opts.zero() {
		dry := opts.DryRun
		opts = m.opts.Retention
		opts.DryRun = opts.DryRun || dry
	}
	rep, err := m.prune(ctx, opts, time.Now().UTC())
	if err != nil {
		return rep, fmt.Errorf("psm: prune: %w", err)
	}
	return rep, nil
}

// pruneBatch bounds the records one transaction removes.
const pruneBatch = 256

func (m *Mind) prune(ctx context.Context, opts PruneOptions, now time.Time) (PruneReport, error) {
	rep := PruneReport{Kept: map[string]int{}}
	if opts.zero() {
		return rep, nil
	}
	type entry struct {
		rec  Record
		root string // the top-level cycle of its tree
		why  string // why it must be kept, "" if it need not
	}
	var all []*entry
	byID := map[string]*entry{}
	index := map[string]string{} // cycle id → its key in the approval index
	err := m.im.View(ctx, func(tx *uvm.Tx) error {
		if err := tx.ScanRecords(recordNS, "", func(key string, val []byte) error {
			var rec Record
			if err := json.Unmarshal(val, &rec); err != nil {
				return fmt.Errorf("cycle record %s: %w", key, err)
			}
			e := &entry{rec: rec}
			all = append(all, e)
			byID[rec.ID] = e
			return nil
		}); err != nil {
			return err
		}
		if err := tx.ScanRecords(approvalNS, "", func(key string, val []byte) error {
			index[string(val)] = key
			return nil
		}); err != nil {
			return err
		}
		for _, e := range all {
			why, err := neededFor(tx, e.rec)
			if err != nil {
				return err
			}
			e.why = why
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	rep.Examined = len(all)

	// Trees: a cycle with the cycles nested in it.
	trees := map[string][]*entry{}
	for _, e := range all {
		e.root = e.rec.ID
		for seen := 0; seen < len(all); seen++ { // a parent loop in damaged records ends
			p, ok := byID[byID[e.root].rec.Parent]
			if !ok {
				break
			}
			e.root = p.rec.ID
		}
		trees[e.root] = append(trees[e.root], e)
	}
	type tree struct {
		top     *entry
		members []*entry
	}
	var ts []tree
	for root, members := range trees {
		ts = append(ts, tree{top: byID[root], members: members})
	}
	// Newest first, by when the top-level cycle started.
	slices.SortFunc(ts, func(a, b tree) int {
		return cmp.Or(b.top.rec.Started.Compare(a.top.rec.Started), cmp.Compare(b.top.rec.ID, a.top.rec.ID))
	})
	var doomed []tree // whole trees: a batch never splits one
	for _, t := range ts {
		end := t.top.rec.Ended
		if end.IsZero() {
			end = t.top.rec.Started
		}
		old := opts.MaxAge > 0 && now.Sub(end) > opts.MaxAge
		// Once the count is reached every older tree is over it: a
		// smaller older tree that would still fit is not kept in place
		// of a newer one.
		over := opts.MaxRecords > 0 && rep.Within >= opts.MaxRecords
		if !old && !over {
			rep.Within += len(t.members)
			continue
		}
		needed := false
		for _, e := range t.members {
			needed = needed || e.why != ""
		}
		if needed {
			for _, e := range t.members {
				rep.Kept[cmp.Or(e.why, KeptWithRelatives)]++
			}
			continue
		}
		doomed = append(doomed, t)
	}
	byStart := func(a, b *entry) int {
		return cmp.Or(a.rec.Started.Compare(b.rec.Started), cmp.Compare(a.rec.ID, b.rec.ID))
	}
	slices.SortFunc(doomed, func(a, b tree) int { return byStart(a.top, b.top) })
	var pruned []*entry
	report := func() PruneReport { // oldest first, also when a batch failed
		slices.SortFunc(pruned, byStart)
		for _, e := range pruned {
			rep.Pruned = append(rep.Pruned, e.rec.ID)
		}
		return rep
	}
	if opts.DryRun {
		for _, t := range doomed {
			pruned = append(pruned, t.members...)
		}
		return report(), nil
	}
	for len(doomed) > 0 {
		// Whole trees, up to pruneBatch records (or one larger tree):
		// a prune stopped between batches (a cancelled context, an
		// error) leaves no nested cycle's record without its parent's.
		var batch []tree
		for n := 0; len(doomed) > 0 && (n == 0 || n+len(doomed[0].members) <= pruneBatch); doomed = doomed[1:] {
			n += len(doomed[0].members)
			batch = append(batch, doomed[0])
		}
		var removed []*entry
		var kept map[string]int // trees kept whole after all, by reason
		err := m.im.Update(ctx, func(tx *uvm.Tx) error {
			removed, kept = removed[:0], map[string]int{}
		trees:
			for _, t := range batch {
				// What may have changed since it was read: a cycle that
				// was parked, or resumed. Such a tree is kept whole.
				var here []*entry
				for _, e := range t.members {
					rec, err := readRecord(tx, e.rec.ID)
					if err != nil {
						continue // gone meanwhile
					}
					if why := unfinished(rec); why != "" {
						kept[why]++
						kept[KeptWithRelatives] += len(t.members) - 1
						continue trees
					}
					here = append(here, e)
				}
				for _, e := range here {
					if err := tx.DeleteRecord(recordNS, e.rec.ID); err != nil {
						return err
					}
					if key, ok := index[e.rec.ID]; ok {
						if err := tx.DeleteRecord(approvalNS, key); err != nil {
							return err
						}
					}
				}
				removed = append(removed, here...)
			}
			return nil
		})
		if err != nil {
			return report(), err
		}
		pruned = append(pruned, removed...)
		for why, n := range kept {
			rep.Kept[why] += n
		}
	}
	return report(), nil
}

// unfinished says why rec's cycle is not over (KeptRunning,
// KeptAwaiting), or "" when it is.
func unfinished(rec Record) string {
	switch {
	case rec.Outcome == "":
		return KeptRunning
	case rec.Outcome == AwaitingApproval && rec.Decision == nil:
		return KeptAwaiting
	}
	return ""
}

// neededFor says why rec must be kept, or "" when it need not.
func neededFor(tx *uvm.Tx, rec Record) (string, error) {
	if why := unfinished(rec); why != "" {
		return why, nil
	}
	if rec.Version == 0 {
		return "", nil // installed nothing
	}
	o, err := tx.Object(rec.Mission.Target)
	if err != nil {
		return "", nil // the object is gone, and its methods with it
	}
	meth, err := tx.MethodVersion(o, rec.Mission.Selector, rec.Version)
	if err != nil || meth.CycleID != rec.ID {
		return "", nil // not this cycle's version
	}
	if cur, ok := ownMethod(o, rec.Mission.Selector); ok && cur.Version == rec.Version {
		return KeptCurrent, nil
	}
	b, err := tx.GetRecord(notesNS, noteKey(o.OID(), rec.Mission.Selector, rec.Version))
	if err != nil {
		return KeptHistory, nil // no note: the history reads the record
	}
	var n versionNote
	if json.Unmarshal(b, &n) != nil {
		return KeptHistory, nil
	}
	if (n.Model == "" && rec.Model != "" && rec.Reused == nil) || (n.By == "" && n.Args == nil && len(rec.Mission.Args) > 0) {
		return KeptHistory, nil
	}
	return "", nil
}
