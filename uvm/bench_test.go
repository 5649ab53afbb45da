package uvm_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/require"
)

// Targets (issue 2, "Evidence"):
//
//	BenchmarkLookupDepth5     ≤ 150 ns/op  (warm: objects loaded in the transaction)
//	BenchmarkCommitDurable    fsync-ratio ≥ 0.65 (commits/s ÷ raw write+fsync/s)
//	BenchmarkCreate10k        ≤ 100 ms/op  (10,000 objects, 5 slots and a parent, one transaction)
//	BenchmarkReopenTouch10k   ≤ 40 ms/op   (open an image of 10,000 objects, read one slot of each)

// BenchmarkLookupDepth5 looks up a slot held five parents up a chain, with
// every object of the chain already loaded in the transaction.
func BenchmarkLookupDepth5(b *testing.B) {
	ctx := context.Background()
	im := uvmtest.Mem(b, uvm.Options{})
	var leaf uvm.OID
	err := im.Update(ctx, func(tx *uvm.Tx) error {
		var parent *uvm.Object
		for i := range 6 { // top holder + 5 descendants
			o, err := tx.New()
			if err != nil {
				return err
			}
			// A few own slots on every object, so the lookup misses in real maps.
			for _, s := range []string{"name", "size", "color"} {
				if err := o.Set(s, int64(i)); err != nil {
					return err
				}
			}
			if i == 0 {
				if err := o.Set("answer", int64(42)); err != nil {
					return err
				}
			} else if err := o.SetParents(parent); err != nil {
				return err
			}
			parent, leaf = o, o.OID()
		}
		return nil
	})
	require.NoError(b, err, "setup")
	for _, mode := range []string{"Lookup", "Send"} {
		b.Run(mode, func(b *testing.B) {
			err := im.View(ctx, func(tx *uvm.Tx) error {
				o, err := tx.Object(leaf)
				if err != nil {
					return err
				}
				// Warm: the first lookup loads the chain into the transaction.
				f, err := tx.Lookup(o, "answer")
				if err != nil {
					return err
				}
				require.Equal(b, int64(42), f.Value, "lookup")
				b.ReportAllocs()
				b.ResetTimer()
				switch mode {
				case "Lookup":
					for b.Loop() {
						if _, err := tx.Lookup(o, "answer"); err != nil {
							return err
						}
					}
				case "Send":
					for b.Loop() {
						if _, err := tx.Send(ctx, o, "answer"); err != nil {
							return err
						}
					}
				}
				return nil
			})
			require.NoError(b, err)
		})
	}
}

// BenchmarkCommitDurable commits one slot per durable transaction on disk
// and, interleaved in blocks on the same disk, times a raw loop of small
// appends each followed by fsync. fsync-ratio is commits/s ÷ raw fsyncs/s;
// ns/op is the time of one commit alone.
func BenchmarkCommitDurable(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	im := uvmtest.Disk(b, filepath.Join(dir, "image"), uvm.Options{})
	var oid uvm.OID
	err := im.Update(ctx, func(tx *uvm.Tx) error {
		o, err := tx.New()
		if err != nil {
			return err
		}
		oid = o.OID()
		return o.Set("n", int64(0))
	})
	require.NoError(b, err, "setup")
	f, err := os.OpenFile(filepath.Join(dir, "raw.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	require.NoError(b, err)
	defer f.Close()
	record := make([]byte, 64) // about what one small commit appends
	for i := range record {
		record[i] = byte(i)
	}

	// Alternate blocks of commits and raw fsyncs, so that both see the same
	// disk weather; the disk's fsync rate swings, the ratio is what counts.
	const block = 16
	var commitTime, rawTime time.Duration
	n := 0
	b.ResetTimer()
	for n < b.N {
		k := min(block, b.N-n)
		t0 := time.Now()
		for i := range k {
			err := im.Update(ctx, func(tx *uvm.Tx) error {
				o, err := tx.Object(oid)
				if err != nil {
					return err
				}
				return o.Set("n", int64(n+i+1))
			})
			require.NoError(b, err, "commit")
		}
		t1 := time.Now()
		for range k {
			_, err := f.Write(record)
			require.NoError(b, err)
			require.NoError(b, f.Sync())
		}
		t2 := time.Now()
		commitTime += t1.Sub(t0)
		rawTime += t2.Sub(t1)
		n += k
	}
	b.StopTimer()
	commitsPerSec := float64(b.N) / commitTime.Seconds()
	fsyncsPerSec := float64(b.N) / rawTime.Seconds()
	b.ReportMetric(float64(commitTime.Nanoseconds())/float64(b.N), "ns/op")
	b.ReportMetric(commitsPerSec, "commits/s")
	b.ReportMetric(fsyncsPerSec, "fsyncs/s")
	b.ReportMetric(commitsPerSec/fsyncsPerSec, "fsync-ratio")
}

// benchCreate creates n objects with five slots and a parent in one transaction.
func benchCreate(ctx context.Context, im *uvm.Image, n int) ([]uvm.OID, error) {
	oids := make([]uvm.OID, 0, n)
	err := im.Update(ctx, func(tx *uvm.Tx) error {
		oids = oids[:0] // Update may run fn again
		proto, err := tx.New()
		if err != nil {
			return err
		}
		if err := proto.Set("kind", "proto"); err != nil {
			return err
		}
		for i := range n {
			o, err := tx.New()
			if err != nil {
				return err
			}
			if err := o.SetParents(proto); err != nil {
				return err
			}
			for _, s := range []struct {
				name string
				v    any
			}{
				{"name", "object"},
				{"index", int64(i)},
				{"weight", float64(i) / 3},
				{"active", i%2 == 0},
				{"note", "five slots and a parent"},
			} {
				if err := o.Set(s.name, s.v); err != nil {
					return err
				}
			}
			oids = append(oids, o.OID())
		}
		return nil
	})
	return oids, err
}

// BenchmarkCreate10k creates 10,000 objects, each with five slots and a
// parent, in one durable transaction on disk ("disk", the target) and in
// memory ("mem", for comparison).
func BenchmarkCreate10k(b *testing.B) {
	ctx := context.Background()
	for _, where := range []string{"disk", "mem"} {
		b.Run(where, func(b *testing.B) {
			var im *uvm.Image
			if where == "disk" {
				im = uvmtest.Disk(b, "", uvm.Options{})
			} else {
				im = uvmtest.Mem(b, uvm.Options{})
			}
			b.ResetTimer()
			for b.Loop() {
				_, err := benchCreate(ctx, im, 10_000)
				require.NoError(b, err, "create")
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
		})
	}
}

// BenchmarkReopenTouch10k opens an on-disk image of 10,000 objects and reads
// one slot of each in one View. Every round opens a fresh copy of the image
// as it was written and closed once (each Open and Close adds a small table
// to Badger's level 0, so reopening one directory b.N times would measure a
// different image each round). Making the copy and closing the image are
// outside the timer; the copy's files are in the OS page cache.
func BenchmarkReopenTouch10k(b *testing.B) {
	ctx := context.Background()
	base := b.TempDir()
	pristine := filepath.Join(base, "pristine")
	im := uvmtest.Disk(b, pristine, uvm.Options{})
	oids, err := benchCreate(ctx, im, 10_000)
	require.NoError(b, err, "setup")
	require.NoError(b, im.Close(), "close")
	var openTime time.Duration
	round := 0
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		round++
		dir := filepath.Join(base, fmt.Sprintf("copy%d", round))
		require.NoError(b, os.CopyFS(dir, os.DirFS(pristine)), "copy image")
		b.StartTimer()

		t0 := time.Now()
		im, err := uvm.Open(dir, uvm.Options{})
		require.NoError(b, err, "reopen")
		openTime += time.Since(t0)
		var sum int64
		err = im.View(ctx, func(tx *uvm.Tx) error {
			for _, oid := range oids {
				o, err := tx.Object(oid)
				if err != nil {
					return err
				}
				v, _ := o.Get("index")
				sum += v.(int64)
			}
			return nil
		})
		require.NoError(b, err, "touch")
		require.Equal(b, int64(10_000*9_999/2), sum, "sum of index slots")

		b.StopTimer()
		require.NoError(b, im.Close(), "close")
		require.NoError(b, os.RemoveAll(dir))
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
	b.ReportMetric(float64(openTime.Microseconds())/1000/float64(b.N), "open-ms/op")
}

// BenchmarkDataWriteAmongMethods is a method bumping a counter on an
// object that holds many methods (genesis after a few hundred cycles): a
// durable commit that changes one data slot. The methods live apart from
// the data, so the cost should not grow with their number.
func BenchmarkDataWriteAmongMethods(b *testing.B) {
	for _, n := range []int{0, 300} {
		b.Run(fmt.Sprintf("methods=%d", n), func(b *testing.B) {
			im := uvmtest.Disk(b, "", uvm.Options{})
			ctx := context.Background()
			var oid uvm.OID
			err := im.Update(ctx, func(tx *uvm.Tx) error {
				o, err := tx.New()
				if err != nil {
					return err
				}
				oid = o.OID()
				src := fmt.Sprintf("package m\n\n// %0500d\n", 0) // a method's worth of source
				for i := range n {
					if _, err := tx.InstallMethod(o, uvm.Method{Selector: fmt.Sprintf("m%d", i), Source: src}); err != nil {
						return err
					}
				}
				return nil
			})
			require.NoError(b, err)
			k := int64(0)
			for b.Loop() {
				k++
				err := im.Update(ctx, func(tx *uvm.Tx) error {
					o, err := tx.Object(oid)
					if err != nil {
						return err
					}
					return o.Set("calls", k)
				})
				require.NoError(b, err)
			}
		})
	}
}
