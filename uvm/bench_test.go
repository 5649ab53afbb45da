package uvm_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/batos-dev/batos/uvm"
)

// Targets (issue 2, "Evidence"):
//
//	BenchmarkLookupDepth5     ≤ 150 ns/op  (warm: objects loaded in the transaction)
//	BenchmarkCommitDurable    fsync-ratio ≥ 0.65 (commits/s ÷ raw write+fsync/s)
//	BenchmarkCreate10k        ≤ 100 ms/op  (10,000 objects, 5 slots and a parent, one transaction)
//	BenchmarkReopenTouch10k   ≤ 40 ms/op   (open an image of 10,000 objects, read one slot of each)

func benchOpen(b *testing.B, dir string, opts uvm.Options) *uvm.Image {
	b.Helper()
	if dir == "" {
		opts.InMemory = true
	}
	im, err := uvm.Open(dir, opts)
	if err != nil {
		b.Fatalf("open: %v", err)
	}
	return im
}

// BenchmarkLookupDepth5 looks up a slot held five parents up a chain, with
// every object of the chain already loaded in the transaction.
func BenchmarkLookupDepth5(b *testing.B) {
	ctx := context.Background()
	im := benchOpen(b, "", uvm.Options{})
	defer im.Close()
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
	if err != nil {
		b.Fatalf("setup: %v", err)
	}
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
				if f.Value != int64(42) {
					b.Fatalf("lookup: got %v, want 42", f.Value)
				}
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
			if err != nil {
				b.Fatal(err)
			}
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
	im := benchOpen(b, filepath.Join(dir, "image"), uvm.Options{})
	defer im.Close()
	var oid uvm.OID
	err := im.Update(ctx, func(tx *uvm.Tx) error {
		o, err := tx.New()
		if err != nil {
			return err
		}
		oid = o.OID()
		return o.Set("n", int64(0))
	})
	if err != nil {
		b.Fatalf("setup: %v", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "raw.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		b.Fatal(err)
	}
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
			if err != nil {
				b.Fatalf("commit: %v", err)
			}
		}
		t1 := time.Now()
		for range k {
			if _, err := f.Write(record); err != nil {
				b.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
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
			dir := ""
			if where == "disk" {
				dir = b.TempDir()
			}
			im := benchOpen(b, dir, uvm.Options{})
			defer im.Close()
			b.ResetTimer()
			for b.Loop() {
				if _, err := benchCreate(ctx, im, 10_000); err != nil {
					b.Fatalf("create: %v", err)
				}
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
	im := benchOpen(b, pristine, uvm.Options{})
	oids, err := benchCreate(ctx, im, 10_000)
	if err != nil {
		b.Fatalf("setup: %v", err)
	}
	if err := im.Close(); err != nil {
		b.Fatalf("close: %v", err)
	}
	var openTime time.Duration
	round := 0
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		round++
		dir := filepath.Join(base, fmt.Sprintf("copy%d", round))
		if err := os.CopyFS(dir, os.DirFS(pristine)); err != nil {
			b.Fatalf("copy image: %v", err)
		}
		b.StartTimer()

		t0 := time.Now()
		im, err := uvm.Open(dir, uvm.Options{})
		if err != nil {
			b.Fatalf("reopen: %v", err)
		}
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
		if err != nil {
			b.Fatalf("touch: %v", err)
		}
		if want := int64(10_000 * 9_999 / 2); sum != want {
			b.Fatalf("sum of index slots: got %d, want %d", sum, want)
		}

		b.StopTimer()
		if err := im.Close(); err != nil {
			b.Fatalf("close: %v", err)
		}
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
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
			im, err := uvm.Open(b.TempDir(), uvm.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer im.Close()
			ctx := context.Background()
			var oid uvm.OID
			err = im.Update(ctx, func(tx *uvm.Tx) error {
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
			if err != nil {
				b.Fatal(err)
			}
			k := int64(0)
			for b.Loop() {
				k++
				if err := im.Update(ctx, func(tx *uvm.Tx) error {
					o, err := tx.Object(oid)
					if err != nil {
						return err
					}
					return o.Set("calls", k)
				}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
