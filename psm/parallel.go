package psm

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
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
// There, the installs of one mind into one method part of an object take
// turns (installLocks, taken in order of OID and part, so that two
// installs on several objects never wait for each other for ever; each is
// held from the install transaction's start to its commit, not during the
// sync to disk that follows). uvm reads and writes an object's method
// parts apart (uvm.MethodPart), so installs into different parts of an
// object that holds methods run at once without conflicting; an install
// on an object not known to hold methods yet (its first install, which
// gives it its method parts) takes all its parts. On an image in a
// database (PostgreSQL) the installs of one mind take turns whatever
// objects they write (see installLocks.whole). Without the locks, two
// installs into one part would conflict. Any other concurrent commit to
// what an install read (a method's run, a person's install, another
// process) still makes it conflict. A conflicting install is not
// retried blindly: the cycle waits a moment (installBackoff, doubling at
// each try, with jitter, so that installs that failed each other do not
// meet again at once), validates the same candidate again (its dry runs
// and examples) on a fresh snapshot, without asking the model again, and
// commits it then, at most Options.MaxInstallRetries times, each try in
// the record (Conflicts).

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

// installBackoff is the wait before the first retry of an install that
// conflicted; it doubles at each try, and a random part as long again is
// added. Retried at once, installs that failed each other (on PostgreSQL
// also those that merely touched the same index pages) met again and
// exhausted their tries; the waits, up to a few hundred milliseconds in
// all, are small next to the model call a failed cycle would cost.
const installBackoff = 20 * time.Millisecond

// maxBackoffDoublings caps the wait between install tries at 320 ms (and
// as much again at random).
const maxBackoffDoublings = 4

// installRetries is Options.MaxInstallRetries as it applies to this
// mind's image (see there).
func (m *Mind) installRetries() int {
	switch r := m.opts.MaxInstallRetries; {
	case r < 0:
		return 0
	case r > 0:
		return r
	case m.im != nil && m.im.Shared():
		return 8
	}
	return 3
}

// errInstallConflict ends an install attempt that conflicted, so that the
// cycle validates its candidate again before the next.
var errInstallConflict = errors.New("psm: install conflicted")

// installCommit commits install in a transaction of its own. When the
// commit conflicts with a concurrent one, the cycle's candidate is
// validated again on a fresh snapshot and install committed again, up to
// Options.MaxInstallRetries times; each conflict is in the record.
func (m *Mind) installCommit(ctx context.Context, c *cycle, install func(tx *uvm.Tx) error) error {
	keys := []flightKey{c.key}
	wrote := []string{c.key.slot()}
	for _, p := range c.work.pending {
		keys = append(keys, p.key)
		wrote = append(wrote, p.key.slot())
	}
	for try := 1; ; try++ {
		runs := 0
		parts := m.installLocks.parts(keys)
		unlock, err := m.installLocks.lock(ctx, parts)
		if err != nil {
			return err
		}
		if fewer := m.installLocks.parts(keys); len(fewer) < len(parts) {
			// The install it waited for gave the object methods: its own
			// part is enough now.
			unlock()
			if unlock, err = m.installLocks.lock(ctx, fewer); err != nil {
				return err
			}
		}
		err = m.duringInstall(func() error {
			return m.im.Update(ctx, func(tx *uvm.Tx) error {
				// uvm runs the function again after a conflict: stop
				// there, and validate before trying again.
				if runs++; runs > 1 {
					return errInstallConflict
				}
				if err := install(tx); err != nil {
					return err
				}
				tx.OnCommit(func() {
					m.installLocks.holdMethods(keys)
					unlock() // committed: the next install may read it
				})
				return nil
			})
		})
		unlock()
		if !errors.Is(err, errInstallConflict) {
			return err
		}
		conflict := Conflict{Try: try, At: time.Now().UTC(), Wrote: wrote}
		c.update(func(r *Record) { r.Conflicts = append(r.Conflicts, conflict) })
		text := fmt.Sprintf("the install conflicted with a concurrent commit (try %d); it wrote %s", try, orNothing(wrote))
		if retries := m.installRetries(); try > retries {
			c.event(ctx, Event{Kind: EventVerdict, Attempt: c.work.attempt, Text: "install", Error: text})
			return fmt.Errorf("%s; no tries left (Options.MaxInstallRetries is %d): %w", text, retries, uvm.ErrConflict)
		}
		c.event(ctx, Event{Kind: EventNote, Attempt: c.work.attempt, Text: text + "; validating the same source again on a fresh snapshot"})
		backoff := installBackoff << min(try-1, maxBackoffDoublings)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s; waiting to try again: %w", text, ctx.Err())
		case <-time.After(backoff + rand.N(backoff)):
		}
		if err := m.revalidate(ctx, c); err != nil {
			return fmt.Errorf("validating again after a conflict: %w", err)
		}
	}
}

// revalidate runs the dry runs and examples of a cycle's validated
// candidate again, on the image as it is now: the nested candidates that
// install with it are reached through its dry run. A dry run that now
// needs a method no nested cycle of this attempt wrote fails it with
// uvm.ErrConflict, without starting a nested cycle (which would ask the
// model).
func (m *Mind) revalidate(ctx context.Context, c *cycle) error {
	w := &c.work
	w.revalidating = true // a nested send that would start a cycle fails (notUnderstood)
	defer func() { w.revalidating = false }()
	return m.tryCandidate(ctx, c, w.passed, w.attempt)
}

// slot names the method slot k stands for, as uvm.Change does.
func (k flightKey) slot() string { return fmt.Sprintf("object %d: %s", k.oid, k.sel) }

// installLocks lets the installs of one mind into one method part of an
// object take turns (see above).
type installLocks struct {
	// whole makes the installs of this mind take turns, whatever objects
	// they write (every install takes allObjects): on an image in a
	// database (PostgreSQL), a transaction reads an object's keys as one
	// range, and PostgreSQL's serializable transactions track what they
	// read by index and table page (by table, past
	// max_pred_locks_per_relation), not by key; so installs into
	// different parts of one object, or into different objects whose keys
	// share pages, fail each other there. Concurrent installs on distinct
	// objects exhausted their tries (7 of 16 cycles failed).
	whole bool

	mu      sync.Mutex
	m       map[objectPart]chan struct{} // held while present; closed on release
	methods map[uvm.OID]bool             // objects an install of this mind gave methods
}

// objectPart is one method part of an object (uvm.MethodPart).
type objectPart struct {
	oid  uvm.OID
	part int
}

// allObjects stands for every part of every object (OID 0 is no object).
var allObjects = objectPart{}

// wholeObjects returns every method part of each of oids.
func wholeObjects(oids ...uvm.OID) []objectPart {
	var out []objectPart
	for _, oid := range oids {
		for p := range uvm.MethodParts {
			out = append(out, objectPart{oid, p})
		}
	}
	return out
}

// parts returns the parts an install of the methods keys writes: the
// selector's part of an object known to hold methods, every part of
// another; allObjects when whole.
func (l *installLocks) parts(keys []flightKey) []objectPart {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []objectPart
	for _, k := range keys {
		switch {
		case l.whole:
			return []objectPart{allObjects}
		case l.methods[k.oid]:
			out = append(out, objectPart{k.oid, uvm.MethodPart(k.sel)})
		default:
			out = append(out, wholeObjects(k.oid)...)
		}
	}
	return out
}

// holdMethods notes that the objects of keys hold methods now.
func (l *installLocks) holdMethods(keys []flightKey) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.methods == nil {
		l.methods = map[uvm.OID]bool{}
	}
	for _, k := range keys {
		l.methods[k.oid] = true
	}
}

// lock takes the locks of parts, in order of OID and part, waiting as
// long as ctx allows, and returns the function that releases them (once,
// however often it is called).
func (l *installLocks) lock(ctx context.Context, parts []objectPart) (unlock func(), err error) {
	parts = slices.Clone(parts)
	slices.SortFunc(parts, func(a, b objectPart) int {
		if c := cmp.Compare(a.oid, b.oid); c != 0 {
			return c
		}
		return cmp.Compare(a.part, b.part)
	})
	parts = slices.Compact(parts)
	var held []objectPart
	release := func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, p := range held {
			close(l.m[p])
			delete(l.m, p)
		}
		held = nil
	}
	for _, p := range parts {
		for {
			l.mu.Lock()
			if l.m == nil {
				l.m = map[objectPart]chan struct{}{}
			}
			busy, ok := l.m[p]
			if !ok {
				l.m[p] = make(chan struct{})
				held = append(held, p)
				l.mu.Unlock()
				break
			}
			l.mu.Unlock()
			select {
			case <-busy:
			case <-ctx.Done():
				release()
				return nil, fmt.Errorf("waiting to install on object %d: %w", p.oid, ctx.Err())
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
