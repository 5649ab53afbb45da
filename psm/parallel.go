package psm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/batos-dev/batos/uvm"
)

// Cycles at once.
//
// Cycles for different receivers or selectors run concurrently, each on
// its sender's goroutine, up to Options.MaxConcurrentCycles top-level
// cycles at a time (turns); a nested cycle runs inside its outer cycle's
// turn. Nothing is locked while a cycle asks, searches or validates: two
// cycles that change the same objects meet only at COMPLETE.
//
// There, the installs of one mind on one object take turns (installLocks,
// taken in OID order, so that two installs on several objects never wait
// for each other; each is held from the install transaction's start to
// its commit, not during the sync to disk that follows). Without them,
// two installs of different selectors on one object would always
// conflict, since each reads the whole object. Any other concurrent
// commit to what an install read (a method's run, a person's install,
// another process) still makes it conflict. A conflicting install is not
// retried blindly: the cycle validates the same candidate again (its dry
// runs and examples) on a fresh snapshot, without asking the model again,
// and commits it then, at most Options.MaxInstallRetries times, each try
// in the record (Conflicts).

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
// lists the methods the install wrote ("object 3: greet"; with each, its
// version note, its skill in memory and the cycle's record), among which
// the conflicting writes are.
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
	targets := []uvm.OID{c.mission.Target}
	wrote := []string{c.key.slot()}
	for _, p := range c.work.pending {
		targets = append(targets, p.mission.Target)
		wrote = append(wrote, p.key.slot())
	}
	for try := 1; ; try++ {
		runs := 0
		unlock, err := m.installLocks.lock(ctx, targets)
		if err != nil {
			return err
		}
		err = m.im.Update(ctx, func(tx *uvm.Tx) error {
			// uvm runs the function again after a conflict: stop there,
			// and validate before trying again.
			if runs++; runs > 1 {
				return errInstallConflict
			}
			if err := install(tx); err != nil {
				return err
			}
			tx.OnCommit(unlock) // committed: the next install may read it
			return nil
		})
		unlock()
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

// slot names the method slot k stands for, as uvm.Change does.
func (k flightKey) slot() string { return fmt.Sprintf("object %d: %s", k.oid, k.sel) }

// installLocks lets the installs of one mind on one object take turns
// (see above).
type installLocks struct {
	mu sync.Mutex
	m  map[uvm.OID]chan struct{} // held while present; closed on release
}

// lock takes the locks of oids, in OID order, waiting as long as ctx
// allows, and returns the function that releases them (once, however
// often it is called).
func (l *installLocks) lock(ctx context.Context, oids []uvm.OID) (unlock func(), err error) {
	oids = slices.Clone(oids)
	slices.Sort(oids)
	oids = slices.Compact(oids)
	var held []uvm.OID
	release := func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, oid := range held {
			close(l.m[oid])
			delete(l.m, oid)
		}
		held = nil
	}
	for _, oid := range oids {
		for {
			l.mu.Lock()
			if l.m == nil {
				l.m = map[uvm.OID]chan struct{}{}
			}
			busy, ok := l.m[oid]
			if !ok {
				l.m[oid] = make(chan struct{})
				held = append(held, oid)
				l.mu.Unlock()
				break
			}
			l.mu.Unlock()
			select {
			case <-busy:
			case <-ctx.Done():
				release()
				return nil, fmt.Errorf("waiting to install on object %d: %w", oid, ctx.Err())
			}
		}
	}
	var once sync.Once
	return func() { once.Do(release) }, nil
}

func orNothing(xs []string) string {
	if len(xs) == 0 {
		return "nothing"
	}
	return strings.Join(xs, ", ")
}
