package uvm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A commit that completes while a sync runs is not covered by it: its
// wait returns only after the next sync, which it (or another waiter)
// leads.
func TestGroupSyncWaitsForASyncThatStartedLater(t *testing.T) {
	var flushes atomic.Int32
	release := make(chan struct{})
	entered := make(chan int32, 4)
	g := newGroupSync(func(bool) error {
		n := flushes.Add(1)
		entered <- n
		<-release
		return nil
	})
	first := make(chan error, 1)
	go func() { first <- g.wait(false) }()
	require.Equal(t, int32(1), <-entered, "the first waiter leads flush 1")

	second := make(chan error, 1)
	go func() { second <- g.wait(false) }() // arrives while flush 1 runs
	time.Sleep(20 * time.Millisecond)
	release <- struct{}{} // flush 1 ends
	require.NoError(t, <-first)
	require.Equal(t, int32(2), <-entered, "the second waiter needs flush 2, which started after it")
	select {
	case err := <-second:
		require.Failf(t, "covered by a flush that started before it", "second wait returned %v during flush 2", err)
	case <-time.After(20 * time.Millisecond):
	}
	release <- struct{}{}
	require.NoError(t, <-second)
	require.Equal(t, int32(2), flushes.Load())
}

// Concurrent durable commits share syncs.
func TestGroupSyncSharesSyncs(t *testing.T) {
	ctx := context.Background()
	im, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	defer im.Close()
	var flushes atomic.Int32
	flush := im.durable.flush
	im.durable.flush = func(valueLog bool) error {
		flushes.Add(1)
		time.Sleep(2 * time.Millisecond) // a slow disk: commits pile up meanwhile
		return flush(valueLog)
	}
	const senders, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for s := range senders {
		wg.Go(func() {
			var oid OID
			err := im.Update(ctx, func(tx *Tx) error {
				o, err := tx.New()
				oid = o.OID()
				return err
			})
			for i := 0; err == nil && i < each; i++ {
				err = im.Update(ctx, func(tx *Tx) error {
					o, err := tx.Object(oid)
					if err != nil {
						return err
					}
					return o.Set("n", int64(s*100+i))
				})
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	commits := senders * (each + 1)
	t.Logf("%d commits, %d syncs", commits, flushes.Load())
	assert.LessOrEqual(t, int(flushes.Load()), commits/2, "got %d syncs for %d concurrent commits, want them shared", flushes.Load(), commits)
}

// A read-only Update, or one whose writes leave everything as it was,
// waits for no sync.
func TestGroupSyncSkipsCommitsWithoutWrites(t *testing.T) {
	ctx := context.Background()
	im, flushes := countingFlushes(t)
	var oid OID
	require.NoError(t, im.Update(ctx, func(tx *Tx) error {
		o, err := tx.New()
		oid = o.OID()
		if err != nil {
			return err
		}
		return o.Set("n", int64(1))
	}))
	flushes.Store(0)
	require.NoError(t, im.Update(ctx, func(tx *Tx) error {
		o, err := tx.Object(oid)
		if err != nil {
			return err
		}
		_, _ = o.Get("n")
		return o.Set("n", int64(1)) // the same value: nothing to write
	}))
	require.Zero(t, flushes.Load(), "syncs for an Update that wrote nothing")
	require.NoError(t, im.Update(ctx, func(tx *Tx) error {
		o, err := tx.Object(oid)
		if err != nil {
			return err
		}
		return o.Set("n", int64(2))
	}))
	require.Equal(t, int32(1), flushes.Load(), "syncs for an Update that wrote")
}

// A failed sync fails the commits that waited for it, every later write
// before it commits, and Close; the image opens again.
func TestGroupSyncFailureIsSticky(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	im, err := Open(dir, Options{})
	require.NoError(t, err)
	var oid OID
	require.NoError(t, im.Update(ctx, func(tx *Tx) error {
		o, err := tx.New()
		oid = o.OID()
		if err != nil {
			return err
		}
		return o.Set("n", int64(1))
	}))
	im.durable.flush = func(bool) error { return errors.New("input/output error") }
	set := func(n int64) error {
		return im.Update(ctx, func(tx *Tx) error {
			o, err := tx.Object(oid)
			if err != nil {
				return err
			}
			return o.Set("n", n)
		})
	}
	read := func() any {
		var v any
		require.NoError(t, im.View(ctx, func(tx *Tx) error {
			o, err := tx.Object(oid)
			if err != nil {
				return err
			}
			v, _ = o.Get("n")
			return nil
		}), "reads still work")
		return v
	}
	err = set(2)
	require.ErrorIs(t, err, ErrNotDurable, "the commit whose sync failed")
	require.ErrorContains(t, err, "input/output error")
	require.Equal(t, int64(2), read(), "written, though not durable")

	err = set(3)
	require.ErrorIs(t, err, ErrNotDurable, "a later commit")
	require.Equal(t, int64(2), read(), "a later commit is refused before it commits")
	require.NoError(t, im.Update(ctx, func(tx *Tx) error {
		_, err := tx.Object(oid)
		return err
	}), "an Update that writes nothing commits nothing, and is not refused")
	require.ErrorIs(t, im.Close(), ErrNotDurable, "Close reports it")

	im, err = Open(dir, Options{})
	require.NoError(t, err, "reopen")
	defer im.Close()
	require.NoError(t, set(4), "after a reopen")
	require.Equal(t, int64(4), read())
}

// A sync syncs each superseded log once, and forgets it once it is
// gone.
func TestGroupSyncSyncsSupersededLogsOnce(t *testing.T) {
	dir := t.TempDir()
	im, err := Open(dir, Options{})
	require.NoError(t, err)
	defer im.Close()
	// Stand-ins for a memtable log and a value log that newer ones have
	// superseded (Badger numbers its logs from 1).
	old := []string{filepath.Join(dir, "00000.mem"), filepath.Join(dir, "000000.vlog")}
	for _, name := range old {
		require.NoError(t, os.WriteFile(name, []byte("superseded"), 0o644))
	}
	logs := newLogSyncer(dir)
	require.NoError(t, logs.sync(false))
	require.Equal(t, map[string]bool{"00000.mem": true, "000000.vlog": true}, logs.synced, "superseded logs synced (the newest every time)")

	// A rotation: a newer memtable log supersedes 00001.mem.
	next := filepath.Join(dir, "00002.mem")
	require.NoError(t, os.WriteFile(next, nil, 0o644))
	require.NoError(t, os.Remove(old[0]))
	require.NoError(t, logs.sync(false))
	require.Equal(t, map[string]bool{"00001.mem": true, "000000.vlog": true}, logs.synced, "the superseded log synced, a log gone forgotten")
	require.NoError(t, os.Remove(next))
	require.NoError(t, os.Remove(old[1]))
}

// Commits go on across memtable rotations (a small memtable fills every
// few commits) and are all there after a reopen.
func TestGroupSyncAcrossMemtableRotations(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opts := Options{MemTableSize: 8 << 20} // the smallest Badger takes with its 1 MiB value threshold
	im, err := Open(dir, opts)
	require.NoError(t, err)
	const senders, each = 4, 40
	payload := strings.Repeat("x", 100<<10) // 16 MB in all: two rotations
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for s := range senders {
		wg.Go(func() {
			for i := range each {
				err := im.Update(ctx, func(tx *Tx) error {
					return tx.PutRecord("rot", fmt.Sprintf("%d-%03d", s, i), []byte(payload))
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.NoError(t, im.Close())
	im, err = Open(dir, opts)
	require.NoError(t, err)
	defer im.Close()
	n := 0
	require.NoError(t, im.View(ctx, func(tx *Tx) error {
		return tx.ScanRecords("rot", "", func(key string, val []byte) error {
			n++
			if len(val) != len(payload) {
				return fmt.Errorf("record %s: %d bytes, want %d", key, len(val), len(payload))
			}
			return nil
		})
	}))
	require.Equal(t, senders*each, n, "records after reopen")
}

// A commit of a value Badger keeps in the value log has the value log
// synced too; one of small values only does not.
func TestGroupSyncSyncsTheValueLogForLargeValues(t *testing.T) {
	ctx := context.Background()
	im, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	defer im.Close()
	var got []bool
	flush := im.durable.flush
	im.durable.flush = func(valueLog bool) error {
		got = append(got, valueLog)
		return flush(valueLog)
	}
	for _, size := range []int{100, valueThreshold + 1} {
		require.NoError(t, im.Update(ctx, func(tx *Tx) error {
			return tx.PutRecord("big", fmt.Sprint(size), make([]byte, size))
		}))
	}
	require.Equal(t, []bool{false, true}, got, "value log synced, by commit")
}

// A DeferSync commit waits for no sync, is visible at once, and the next
// commit that waits covers it; a retried attempt that does not call
// DeferSync waits.
func TestGroupSyncDeferSync(t *testing.T) {
	ctx := context.Background()
	im, flushes := countingFlushes(t)
	require.NoError(t, im.Update(ctx, func(tx *Tx) error {
		tx.DeferSync()
		return tx.PutRecord("notes", "a", []byte("1"))
	}))
	require.Zero(t, flushes.Load(), "syncs for a DeferSync commit")
	require.NoError(t, im.View(ctx, func(tx *Tx) error {
		v, err := tx.GetRecord("notes", "a")
		require.Equal(t, "1", string(v))
		return err
	}))
	require.NoError(t, im.Update(ctx, func(tx *Tx) error { return tx.PutRecord("notes", "b", []byte("2")) }))
	require.Equal(t, int32(1), flushes.Load(), "the next commit waits for one sync, which covers both")

	attempts := 0
	require.NoError(t, im.Update(ctx, func(tx *Tx) error {
		attempts++
		if attempts == 1 {
			tx.DeferSync()
			return tx.Restart("try again")
		}
		return tx.PutRecord("notes", "c", []byte("3"))
	}))
	require.Equal(t, int32(2), flushes.Load(), "DeferSync lasts for its attempt only")
}

// countingFlushes opens an image on disk whose syncs are counted.
func countingFlushes(t *testing.T) (*Image, *atomic.Int32) {
	im, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	t.Cleanup(func() { im.Close() })
	flushes := new(atomic.Int32)
	flush := im.durable.flush
	im.durable.flush = func(valueLog bool) error { flushes.Add(1); return flush(valueLog) }
	return im, flushes
}
