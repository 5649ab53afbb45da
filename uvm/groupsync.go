package uvm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Group commit.
//
// Badger syncs its write-ahead log once per commit request when
// SyncWrites is on, even when its writer has batched several requests
// into one write (badger v4.9.6, db.go writeToLSM): eight concurrent
// durable commits cost eight syncs. So a durable image opens Badger with
// SyncWrites off and makes each commit durable itself, after Badger has
// written it and before Update returns: the committing goroutine waits
// for a sync that started after its commit was written. One goroutine
// syncs at a time; the commits that complete while it syncs wait
// together for the next one, which covers them all.
//
// What one sync does (groupSync.flush, logSyncer.sync): it lists the
// image's directory and fdatasyncs the memtable logs (.mem) and value
// logs (.vlog) that may hold writes not yet on disk:
//
//   - the newest memtable log, always: it is the active one, or was when
//     the listing was taken;
//   - the newest value log when a commit since the last sync wrote a
//     value of ValueThreshold bytes or more (Badger keeps smaller values
//     in the memtable log; uvm sets the threshold itself);
//   - every other log once, after it was first seen superseded by a
//     newer one: Badger's one writer goroutine creates the next log after
//     its last write to the previous, so a log stops changing when it is
//     superseded, and one sync then covers everything it will ever hold.
//
// The logs are append-only files written through mmap; an fdatasync of
// the file writes back the pages dirtied through the mapping too (it is
// what msync does on Linux), so a sync covers every byte written before
// it started. It does not take Badger's lock, so reads and writes go on
// while it runs (badger.DB.Sync holds the DB's lock during the msync,
// and every read waits behind the writer that waits for it).
//
// The durability argument: Update acknowledges a commit (returns nil)
// only after a sync that started after Badger had written the commit has
// completed. The log that holds the commit existed when that sync listed
// the directory: if still listed, it was synced then (newest) or has
// been synced since it was superseded; if gone, its memtable was flushed
// into a level-0 table that Badger msynced and recorded in the fsynced
// MANIFEST before deleting the log, exactly as with SyncWrites on. Either
// way the commit is on disk, and a power loss loses no acknowledged
// commit. A commit not yet acknowledged may be lost, or survive; Badger's
// replay drops a transaction whose entries are incomplete (a torn tail),
// so none is half applied. Anything an acknowledged commit read was
// written before it, and is covered by the same sync. New log files and
// tables are made durable in their directory by Badger when it creates
// them (it syncs the directory).
//
// A failed sync is sticky, as in PostgreSQL after a failed fsync: the
// commits waiting for it fail with ErrNotDurable, and so does every later
// write transaction, before it commits, until the image is reopened —
// after a failed fsync the kernel may have dropped the dirty pages it
// could not write, so a later successful sync proves nothing.

// valueThreshold is the value size from which Badger keeps a value in
// the value log rather than in the memtable log (badger.Options
// ValueThreshold, which Open sets to it).
const valueThreshold = 1 << 20

// writing notes that the transaction writes val to Badger: its commit
// must be synced, and the value log too for a large value.
func (tx *Tx) writing(val []byte) {
	tx.wrote = true
	if len(val) >= valueThreshold {
		tx.valueLog = true
	}
}

// groupSync makes commits durable in groups: see above.
type groupSync struct {
	flush func(valueLog bool) error // makes durable every write completed before it was called

	valueLog atomic.Bool // a commit wrote to the value log since the last flush began

	mu      sync.Mutex
	cond    *sync.Cond
	syncing bool   // a flush is running
	started uint64 // flushes started
	done    uint64 // flushes ended
	err     error  // the first failed flush; sticky
}

func newGroupSync(flush func(valueLog bool) error) *groupSync {
	g := &groupSync{flush: flush}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// failed returns the sticky error of an earlier failed flush, or nil.
// A nil *groupSync (an image that does not sync) never fails.
func (g *groupSync) failed() error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// wait returns once a flush that started after wait was called has
// ended, leading that flush itself when none is running. It returns the
// sticky error if that or an earlier flush failed. valueLog says the
// caller's commit wrote to the value log.
func (g *groupSync) wait(valueLog bool) error {
	if g == nil {
		return nil
	}
	if valueLog {
		g.valueLog.Store(true) // before the flush that covers the caller starts
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	// A flush running now may have started before the caller's write:
	// the caller needs the next one.
	need := g.started + 1
	for g.done < need && g.err == nil {
		if g.syncing {
			g.cond.Wait()
			continue
		}
		g.syncing = true
		g.started++
		g.mu.Unlock()
		err := g.flush(g.valueLog.Swap(false))
		g.mu.Lock()
		g.syncing = false
		g.done = g.started
		if err != nil && g.err == nil {
			g.err = fmt.Errorf("%w: %v", ErrNotDurable, err)
		}
		g.cond.Broadcast()
	}
	return g.err
}

// logSyncer is an on-disk image's flush: it syncs the log files that
// may hold writes not yet on disk (see above). Only the goroutine
// running a flush touches it.
type logSyncer struct {
	dir    string
	synced map[string]bool // superseded logs synced since they were superseded
}

func newLogSyncer(dir string) *logSyncer {
	return &logSyncer{dir: dir, synced: map[string]bool{}}
}

// sync syncs the newest memtable log, the newest value log if valueLog,
// and, once, every log that is not the newest of its kind.
//
// It lists the directory every time: no cheaper sign of a rotation is
// sound. (The file after the newest known being absent does not do: it
// may have been created, flushed and deleted since, with a later
// memtable, not yet flushed, in between.)
func (l *logSyncer) sync(valueLog bool) error {
	ents, err := os.ReadDir(l.dir)
	if err != nil {
		return err
	}
	type log struct {
		name, ext string
		id        int
	}
	var logs []log
	newest := map[string]int{}
	present := map[string]bool{}
	for _, e := range ents {
		ext := filepath.Ext(e.Name())
		if ext != ".mem" && ext != ".vlog" {
			continue
		}
		id, err := strconv.Atoi(strings.TrimSuffix(e.Name(), ext))
		if err != nil {
			continue
		}
		present[e.Name()] = true
		logs = append(logs, log{e.Name(), ext, id})
		newest[ext] = max(newest[ext], id)
	}
	for name := range l.synced {
		if !present[name] {
			delete(l.synced, name) // flushed or collected since
		}
	}
	var errs []error
	for _, x := range logs {
		superseded := x.id != newest[x.ext]
		switch {
		case superseded && l.synced[x.name]:
			continue
		case !superseded && x.ext == ".vlog" && !valueLog:
			continue
		}
		if err := syncFile(filepath.Join(l.dir, x.name)); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // flushed to a table, or collected, meanwhile
			}
			errs = append(errs, err)
			continue
		}
		if superseded {
			l.synced[x.name] = true
		}
	}
	return errors.Join(errs...)
}

// syncFile opens a file and syncs its data (datasync): that writes back
// the pages Badger dirtied through its own mmap of the file too.
func syncFile(name string) error {
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = datasync(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
