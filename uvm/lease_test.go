package uvm_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLeaseOnBadger(t *testing.T) {
	ctx := context.Background()
	im := uvmtest.Mem(t, uvm.Options{})
	assert.False(t, im.Shared(), "a Badger image is this process's alone")
	seq, err := im.ChangeSeq(ctx)
	require.NoError(t, err)
	assert.Zero(t, seq)
	require.NoError(t, im.Follow(ctx, func(uint64) { t.Error("no other process commits") }))
	ok, _, err := im.TryLease(ctx, "job", "one", 200*time.Millisecond)
	require.NoError(t, err)
	require.True(t, ok)
	ok, who, err := im.TryLease(ctx, "job", "two", time.Minute)
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Equal(t, "one", who)
	ok, _, err = im.TryLease(ctx, "job", "one", 200*time.Millisecond)
	require.NoError(t, err)
	assert.True(t, ok, "the holder renews")
	time.Sleep(250 * time.Millisecond)
	ok, _, err = im.TryLease(ctx, "job", "two", time.Minute)
	require.NoError(t, err)
	assert.True(t, ok, "an expired lease is taken over")
	require.NoError(t, im.ReleaseLease(ctx, "job", "two"))
	ok, _, err = im.TryLease(ctx, "job", "one", time.Minute)
	require.NoError(t, err)
	assert.True(t, ok)
	_, _, err = im.TryLease(ctx, "", "x", time.Minute)
	assert.ErrorIs(t, err, uvm.ErrBadName)
}

// TestLeaseReadInTransaction: a transaction reads a lease's holder and
// expiry, and an update that read it conflicts with a takeover committed
// meanwhile, so leased work commits only while its holder holds the lease.
func TestLeaseReadInTransaction(t *testing.T) {
	ctx := context.Background()
	im := uvmtest.Mem(t, uvm.Options{})
	uvmtest.View(t, im, func(tx *uvm.Tx) error {
		_, _, found, err := tx.Lease("job")
		require.NoError(t, err)
		assert.False(t, found, "no lease yet")
		_, _, _, err = tx.Lease("")
		assert.ErrorIs(t, err, uvm.ErrBadName)
		return nil
	})
	before := time.Now()
	ok, _, err := im.TryLease(ctx, "job", "one", time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	uvmtest.View(t, im, func(tx *uvm.Tx) error {
		holder, expires, found, err := tx.Lease("job")
		require.NoError(t, err)
		assert.True(t, found)
		assert.Equal(t, "one", holder)
		assert.WithinDuration(t, before.Add(time.Minute), expires, 5*time.Second)
		return nil
	})

	// The holder's work reads the lease; a takeover commits in between.
	attempts := 0
	err = im.Update(ctx, func(tx *uvm.Tx) error {
		attempts++
		holder, _, _, err := tx.Lease("job")
		if err != nil {
			return err
		}
		if holder != "one" {
			return errLeaseLost
		}
		if attempts == 1 {
			require.NoError(t, im.ReleaseLease(ctx, "job", "one"))
			ok, _, err := im.TryLease(ctx, "job", "two", time.Minute)
			require.NoError(t, err)
			require.True(t, ok)
		}
		_, err = tx.New()
		return err
	})
	assert.ErrorIs(t, err, errLeaseLost, "the retry sees the new holder")
	assert.Equal(t, 2, attempts, "the first attempt conflicted with the takeover")
}

var errLeaseLost = errors.New("lease lost")
