package uvm_test

import (
	"context"
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
