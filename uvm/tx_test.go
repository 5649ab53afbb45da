package uvm_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/require"
)

func TestUpdateDiscardsOnErrorAndPanic(t *testing.T) {
	forEachImage(t, func(t *testing.T, im *uvm.Image) {
		var oid uvm.OID
		require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
			o, _ := tx.New()
			oid = o.OID()
			return o.Set("n", 1)
		}))
		boom := errors.New("boom")
		err := im.Update(ctx, func(tx *uvm.Tx) error {
			o, _ := tx.Object(oid)
			require.NoError(t, o.Set("n", 2))
			n, _ := tx.New()
			require.NoError(t, n.Set("x", 1))
			require.NoError(t, tx.SetRoot("leaked", n))
			return boom
		})
		require.ErrorIs(t, err, boom)
		err = im.Update(ctx, func(tx *uvm.Tx) error {
			o, _ := tx.Object(oid)
			require.NoError(t, o.Set("n", 3))
			var counts map[string]int // never made: bump panics
			bump(counts, "crash")
			return nil
		})
		require.ErrorIs(t, err, uvm.ErrPanic)
		require.Contains(t, err.Error(), "nil map")
		require.NoError(t, im.View(ctx, func(tx *uvm.Tx) error {
			o, err := tx.Object(oid)
			require.NoError(t, err)
			n, _ := o.Get("n")
			require.Equal(t, int64(1), n)
			_, err = tx.Root("leaked")
			require.ErrorIs(t, err, uvm.ErrNotFound)
			return nil
		}))
	})
}

// bump adds one to m[k]. Given a nil map it panics with a runtime error,
// as a bug in a transaction's function would.
func bump(m map[string]int, k string) { m[k]++ }

func TestViewIsReadOnly(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{})
	err := im.View(ctx, func(tx *uvm.Tx) error {
		_, err := tx.New()
		return err
	})
	require.ErrorIs(t, err, uvm.ErrReadOnly)
}

func TestTxUseAfterEnd(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{})
	var kept *uvm.Object
	var keptTx *uvm.Tx
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
		kept, _ = tx.New()
		keptTx = tx
		return nil
	}))
	require.ErrorIs(t, kept.Set("x", 1), uvm.ErrTxDone)
	_, err := keptTx.New()
	require.ErrorIs(t, err, uvm.ErrTxDone)
}

func TestNoLostUpdate(t *testing.T) {
	forEachImage(t, func(t *testing.T, im *uvm.Image) {
		var oid uvm.OID
		require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
			o, _ := tx.New()
			oid = o.OID()
			return o.Set("n", 0)
		}))
		const workers, each = 8, 25
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					errs <- im.Update(ctx, func(tx *uvm.Tx) error {
						o, err := tx.Object(oid)
						if err != nil {
							return err
						}
						n, _ := o.Get("n")
						return o.Set("n", n.(int64)+1)
					})
				}
			}()
		}
		wg.Wait()
		close(errs)
		ok := 0
		for err := range errs {
			if err == nil {
				ok++
			} else {
				require.ErrorIs(t, err, uvm.ErrConflict, "only conflicts may fail")
			}
		}
		require.NoError(t, im.View(ctx, func(tx *uvm.Tx) error {
			o, _ := tx.Object(oid)
			n, _ := o.Get("n")
			require.Equal(t, int64(ok), n, "every acknowledged increment is counted, none twice")
			return nil
		}))
		require.Greater(t, ok, workers*each/2)
	})
}

func TestConflictRetriesAreBounded(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{MaxRetries: 2})
	var oid uvm.OID
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
		o, _ := tx.New()
		oid = o.OID()
		return o.Set("n", 0)
	}))
	attempts := 0
	err := im.Update(ctx, func(tx *uvm.Tx) error {
		attempts++
		o, _ := tx.Object(oid)
		// A concurrent writer commits to the same object every time.
		require.NoError(t, im.Update(ctx, func(tx2 *uvm.Tx) error {
			o2, _ := tx2.Object(oid)
			return o2.Set("n", attempts)
		}))
		return o.Set("n", -1)
	})
	require.ErrorIs(t, err, uvm.ErrConflict)
	require.Equal(t, 3, attempts, "one try and two retries")
}

func TestCancelledContext(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{})
	c, cancel := context.WithCancel(ctx)
	cancel()
	err := im.Update(c, func(tx *uvm.Tx) error { return nil })
	require.ErrorIs(t, err, context.Canceled)
	fp := uvmtest.Fingerprint(t, im)
	c2, cancel2 := context.WithCancel(ctx)
	err = im.Update(c2, func(tx *uvm.Tx) error {
		o, _ := tx.New()
		require.NoError(t, o.Set("x", 1))
		cancel2()
		return nil
	})
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, fp, uvmtest.Fingerprint(t, im), "a cancelled update commits nothing")
}

func TestOnCommit(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{})
	ran := 0
	require.Error(t, im.Update(ctx, func(tx *uvm.Tx) error {
		tx.OnCommit(func() { ran++ })
		return errors.New("discard")
	}))
	require.Equal(t, 0, ran)
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
		tx.OnCommit(func() { ran++ })
		return nil
	}))
	require.Equal(t, 1, ran)
}
