package uvm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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
// What one sync does (groupSync.flush, Image.syncLogs):
//
//  1. badger.DB.Sync: msync of the active memtable's log (.mem) and of
//     the newest value log (.vlog). Both are append-only and written
//     through mmap, so a sync covers every byte written before it
//     started, whichever commit wrote it.
//  2. A commit whose memtable filled up may have been written to a
//     memtable that Badger has since made immutable (a new .mem file is
//     the active one now), and DB.Sync does not touch that older log.
//     So the sync then lists the image's directory and fsyncs, once,
//     every .mem and .vlog file that is not the newest of its kind: a
//     file stops receiving writes when the next one is created (by the
//     one writer goroutine, which creates the next file after its last
//     write to the previous), so one fsync after it was seen superseded
//     covers everything it will ever hold. A superseded log already gone
//     has been flushed: its memtable is in a level-0 table that Badger
//     msynced and recorded in the fsynced MANIFEST before deleting the
//     log, exactly as with SyncWrites on. (Badger publishes a new log
//     only after creating its file, so the newest file listed is never
//     older than the log DB.Sync synced.)
//
// The durability argument: Update acknowledges a commit (returns nil)
// only after a sync that started after Badger had written the commit to
// its logs has completed, and that sync covered the log holding it (step
// 1 if it is the newest, step 2 if not) or the commit is in a durable
// table. A power loss then loses no acknowledged commit. A commit not
// yet acknowledged may be lost, or survive; Badger's replay drops a
// transaction whose entries are incomplete (a torn tail), so none is
// half applied. Anything an acknowledged commit read was written before
// it, and is covered by the same sync.
//
// A failed sync is sticky, as in PostgreSQL after a failed fsync: the
// commits waiting for it fail with ErrNotDurable, and so does every later
// write transaction, before it commits, until the image is reopened —
// after a failed fsync the kernel may have dropped the dirty pages it
// could not write, so a later successful sync proves nothing.

// groupSync makes commits durable in groups: see above.
type groupSync struct {
	flush func() error // makes durable every write completed before it was called

	mu      sync.Mutex
	cond    *sync.Cond
	syncing bool   // a flush is running
	started uint64 // flushes started
	done    uint64 // flushes ended
	err     error  // the first failed flush; sticky
}

func newGroupSync(flush func() error) *groupSync {
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
// sticky error if that or an earlier flush failed.
func (g *groupSync) wait() error {
	if g == nil {
		return nil
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
		err := g.flush()
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

// logSyncer is the second step of an on-disk image's flush: it finds
// the log files superseded since the last flush and fsyncs each once.
// Only the goroutine running a flush touches it.
type logSyncer struct {
	dir    string
	synced map[string]bool // superseded logs fsynced since they were superseded
}

func newLogSyncer(dir string) *logSyncer {
	return &logSyncer{dir: dir, synced: map[string]bool{}}
}

// sync fsyncs, once, every log file that is not the newest of its kind.
//
// It lists the directory every time: no cheaper sign of a rotation is
// sound. (The file after the newest known being absent does not do: it
// may have been created, flushed and deleted since, with a later
// memtable, not yet flushed, in between.)
func (l *logSyncer) sync() error {
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
		if x.id == newest[x.ext] || l.synced[x.name] {
			continue
		}
		if err := fsyncFile(filepath.Join(l.dir, x.name)); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // flushed to a table, or collected, meanwhile
			}
			errs = append(errs, err)
			continue
		}
		l.synced[x.name] = true
	}
	return errors.Join(errs...)
}

// syncLogs is an on-disk image's flush: Badger's own sync of the active
// logs, then one fsync of each log file superseded since the last flush.
func (im *Image) syncLogs(logs *logSyncer) error {
	if err := im.db.Sync(); err != nil {
		return err
	}
	return logs.sync()
}

// fsyncFile opens a file and fsyncs it: on Linux that writes back the
// pages Badger dirtied through its own mmap of the file too.
func fsyncFile(name string) error {
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
