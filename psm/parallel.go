package psm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/batos-dev/batos/uvm"
)

// Cycles at once.
//
// Cycles for different receivers or selectors run concurrently, each on
// its sender's goroutine, up to Options.MaxConcurrentCycles top-level
// cycles at a time (turns); a nested cycle runs inside its outer cycle's
// turn. Nothing else is locked while a cycle runs: two cycles that
// change the same objects meet only at COMPLETE, where the image's
// optimistic transactions let one commit and make the other conflict. A
// conflicting install is not retried blindly: the cycle validates the
// same candidate again (its dry runs and examples) on a fresh snapshot,
// without asking the model again, and commits it then, at most
// Options.MaxInstallRetries times, each try in the record (Conflicts).

// turns bounds the top-level cycles that run at once.
type turns chan struct{}

func newTurns(n int) turns {
	if n <= 0 {
		return nil // no bound
	}
	return make(turns, n)
}

// take waits for a turn for the cycle writing key, as long as ctx
// allows, and returns the function that gives it back.
func (t turns) take(ctx context.Context, key flightKey) (release func(), err error) {
	if t == nil {
		return func() {}, nil
	}
	select {
	case t <- struct{}{}:
		return func() { <-t }, nil
	default:
	}
	select {
	case t <- struct{}{}:
		return func() { <-t }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("psm: the cycle writing %s waited for a turn (%d cycles run at once): %w", key, cap(t), ctx.Err())
	}
}

// Conflict is one try of COMPLETE whose commit conflicted with a
// concurrent one. The image does not say which keys conflicted; Wrote
// lists what the install wrote (objects and slots, as uvm.Change
// describes them), among which the conflicting writes are.
type Conflict struct {
	Try   int       `json:"try"`
	At    time.Time `json:"at"`
	Wrote []string  `json:"wrote,omitempty"`
}

// errInstallConflict ends an install attempt that conflicted, so that the
// cycle validates its candidate again before the next.
var errInstallConflict = errors.New("psm: install conflicted")

// installCommit commits install in a transaction of its own. When the
// commit conflicts with a concurrent one, the cycle's candidate is
// validated again on a fresh snapshot and install committed again, up to
// Options.MaxInstallRetries times; each conflict is in the record.
func (m *Mind) installCommit(ctx context.Context, c *cycle, install func(tx *uvm.Tx) error) error {
	for try := 1; ; try++ {
		var wrote []string
		runs := 0
		err := m.im.Update(ctx, func(tx *uvm.Tx) error {
			// uvm runs the function again after a conflict: stop there,
			// and validate before trying again.
			if runs++; runs > 1 {
				return errInstallConflict
			}
			if err := install(tx); err != nil {
				return err
			}
			wrote = wrote[:0]
			for _, ch := range tx.Changes() {
				wrote = append(wrote, ch.String())
			}
			return nil
		})
		if !errors.Is(err, errInstallConflict) {
			return err
		}
		conflict := Conflict{Try: try, At: time.Now().UTC(), Wrote: wrote}
		c.update(func(r *Record) { r.Conflicts = append(r.Conflicts, conflict) })
		text := fmt.Sprintf("the install conflicted with a concurrent commit (try %d); it wrote %s", try, orNothing(wrote))
		if try > m.opts.MaxInstallRetries {
			c.event(ctx, Event{Kind: EventVerdict, Attempt: c.work.attempt, Text: "install", Error: text})
			return fmt.Errorf("%s; no tries left (Options.MaxInstallRetries is %d): %w", text, m.opts.MaxInstallRetries, uvm.ErrConflict)
		}
		c.event(ctx, Event{Kind: EventNote, Attempt: c.work.attempt, Text: text + "; validating the same source again on a fresh snapshot"})
		if err := m.revalidate(ctx, c); err != nil {
			return fmt.Errorf("validating again after a conflict: %w", err)
		}
	}
}

// revalidate runs the dry runs and examples of a cycle's validated
// candidate again, on the image as it is now: the nested candidates that
// install with it are reached through its dry run. A dry run that now
// needs a method no nested cycle of this attempt wrote fails it.
func (m *Mind) revalidate(ctx context.Context, c *cycle) error {
	w := &c.work
	pending := len(w.pending)
	if err := m.tryCandidate(ctx, c, w.passed, w.attempt); err != nil {
		return err
	}
	if len(w.pending) != pending {
		// A nested cycle ran in the dry run: the install prepared before
		// it lacks that method. Not worth the complexity of a redo.
		return fmt.Errorf("%w: the dry run on a fresh snapshot needed a new method", uvm.ErrConflict)
	}
	return nil
}

func orNothing(xs []string) string {
	if len(xs) == 0 {
		return "nothing"
	}
	return strings.Join(xs, ", ")
}
