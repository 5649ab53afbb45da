package uvm_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/require"
)

// BenchmarkCommitDurableParallel commits one slot per durable transaction
// from 8 concurrent senders, each on an object of its own, and, interleaved
// in blocks on the same disk, times a raw loop of small appends each
// followed by fsync (one writer: what a commit costs when nothing shares
// it). fsync-ratio is commits/s ÷ raw fsyncs/s: above 1 means concurrent
// commits share fsyncs (Badger's writer batches the requests waiting for
// it into one write and one sync). Target ≥ 2.0.
func BenchmarkCommitDurableParallel(b *testing.B) {
	const senders = 8
	ctx := context.Background()
	dir := b.TempDir()
	im := uvmtest.Disk(b, filepath.Join(dir, "image"), uvm.Options{})
	oids := make([]uvm.OID, senders)
	err := im.Update(ctx, func(tx *uvm.Tx) error {
		for i := range oids {
			o, err := tx.New()
			if err != nil {
				return err
			}
			oids[i] = o.OID()
			if err := o.Set("n", int64(0)); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(b, err, "setup")
	f, err := os.OpenFile(filepath.Join(dir, "raw.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	require.NoError(b, err)
	defer f.Close()
	record := make([]byte, 64)

	// commit runs k commits spread over the senders and waits for them all.
	commit := func(k int) error {
		var wg sync.WaitGroup
		errs := make([]error, senders)
		for s := range senders {
			share := k / senders
			if s < k%senders {
				share++
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range share {
					err := im.Update(ctx, func(tx *uvm.Tx) error {
						o, err := tx.Object(oids[s])
						if err != nil {
							return err
						}
						return o.Set("n", int64(i+1))
					})
					if err != nil {
						errs[s] = err
						return
					}
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		return nil
	}

	const block = 64
	var commitTime, rawTime time.Duration
	n := 0
	b.ResetTimer()
	for n < b.N {
		k := min(block, b.N-n)
		t0 := time.Now()
		require.NoError(b, commit(k), "commit")
		t1 := time.Now()
		for range min(k, 16) {
			_, err := f.Write(record)
			require.NoError(b, err)
			require.NoError(b, f.Sync())
		}
		t2 := time.Now()
		commitTime += t1.Sub(t0)
		rawTime += time.Duration(float64(t2.Sub(t1)) * float64(k) / float64(min(k, 16)))
		n += k
	}
	b.StopTimer()
	commitsPerSec := float64(b.N) / commitTime.Seconds()
	fsyncsPerSec := float64(b.N) / rawTime.Seconds()
	b.ReportMetric(commitsPerSec, "commits/s")
	b.ReportMetric(fsyncsPerSec, "fsyncs/s")
	b.ReportMetric(commitsPerSec/fsyncsPerSec, "fsync-ratio")
}
