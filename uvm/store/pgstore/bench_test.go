package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/store/pgstore"
	"github.com/stretchr/testify/require"
)

// Targets (issue 19, "Evidence"):
//
//	BenchmarkCommitDurable   pg-ratio ≥ 0.8 (uvm commits/s ÷ PostgreSQL's own single-row commits/s)
//	BenchmarkLookupDepth5    within 2× of the Badger image's (warm: objects loaded in the transaction)

// BenchmarkCommitDurable commits one slot per durable uvm transaction on
// PostgreSQL and, interleaved in blocks on the same server, times
// PostgreSQL's own single-row commit (one UPDATE in autocommit).
// pg-ratio is uvm commits/s ÷ raw commits/s.
func BenchmarkCommitDurable(b *testing.B) {
	needPG(b)
	ctx := context.Background()
	url := cluster.NewDatabase(b)
	im := openImage(b, url)
	raw, err := pgstore.Open(ctx, url)
	require.NoError(b, err)
	defer raw.Close()
	_, err = raw.Pool().Exec(ctx, `CREATE TABLE bench_raw (id INT PRIMARY KEY, n BIGINT NOT NULL); INSERT INTO bench_raw VALUES (1, 0)`)
	require.NoError(b, err)
	var oid uvm.OID
	require.NoError(b, im.Update(ctx, func(tx *uvm.Tx) error {
		o, err := tx.New()
		if err != nil {
			return err
		}
		oid = o.OID()
		return o.Set("n", int64(0))
	}))
	const block = 16
	var commitTime, rawTime time.Duration
	n := 0
	b.ResetTimer()
	for n < b.N {
		k := min(block, b.N-n)
		t0 := time.Now()
		for i := range k {
			require.NoError(b, im.Update(ctx, func(tx *uvm.Tx) error {
				o, err := tx.Object(oid)
				if err != nil {
					return err
				}
				return o.Set("n", int64(n+i))
			}))
		}
		t1 := time.Now()
		for i := range k {
			_, err := raw.Pool().Exec(ctx, `UPDATE bench_raw SET n = $1 WHERE id = 1`, n+i)
			require.NoError(b, err)
		}
		commitTime += t1.Sub(t0)
		rawTime += time.Since(t1)
		n += k
	}
	b.StopTimer()
	b.ReportMetric(float64(commitTime.Nanoseconds())/float64(b.N), "ns/commit")
	b.ReportMetric(float64(rawTime.Nanoseconds())/float64(b.N), "ns/raw-commit")
	b.ReportMetric(rawTime.Seconds()/commitTime.Seconds(), "pg-ratio")
}

// BenchmarkLookupDepth5 looks up a slot held five parents up a chain,
// every object already loaded in the transaction, on PostgreSQL.
func BenchmarkLookupDepth5(b *testing.B) {
	needPG(b)
	ctx := context.Background()
	im := openImage(b, cluster.NewDatabase(b))
	var leaf uvm.OID
	require.NoError(b, im.Update(ctx, func(tx *uvm.Tx) error {
		var parent *uvm.Object
		for i := range 6 {
			o, err := tx.New()
			if err != nil {
				return err
			}
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
	}))
	b.Run("Lookup", func(b *testing.B) {
		require.NoError(b, im.View(ctx, func(tx *uvm.Tx) error {
			o, err := tx.Object(leaf)
			if err != nil {
				return err
			}
			f, err := tx.Lookup(o, "answer")
			if err != nil {
				return err
			}
			require.Equal(b, int64(42), f.Value)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := tx.Lookup(o, "answer"); err != nil {
					return err
				}
			}
			return nil
		}))
	})
	// Cold: a fresh transaction loads the chain from the server each time
	// (one round trip per object).
	b.Run("Cold", func(b *testing.B) {
		for b.Loop() {
			require.NoError(b, im.View(ctx, func(tx *uvm.Tx) error {
				o, err := tx.Object(leaf)
				if err != nil {
					return err
				}
				_, err = tx.Lookup(o, "answer")
				return err
			}))
		}
	})
}
