package pgstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLeaseOneHolder: kernels on one database racing for one lease: one
// holds it; the others see who; after the holder stops renewing (it died)
// the lease is taken over once it expires, and a release frees it at once.
func TestLeaseOneHolder(t *testing.T) {
	needPG(t)
	url := cluster.NewDatabase(t)
	ctx := context.Background()
	ims := []*uvm.Image{openImage(t, url), openImage(t, url), openImage(t, url)}
	for round := range 5 {
		name := fmt.Sprintf("cycle %d", round)
		var wg sync.WaitGroup
		won := make([]bool, len(ims))
		for i, im := range ims {
			wg.Go(func() {
				ok, _, err := im.TryLease(ctx, name, fmt.Sprintf("kernel %d", i), time.Minute)
				assert.NoError(t, err)
				won[i] = ok
			})
		}
		wg.Wait()
		n := 0
		for _, w := range won {
			if w {
				n++
			}
		}
		assert.Equal(t, 1, n, "round %d: exactly one kernel holds the lease: %v", round, won)
	}
	a, b := ims[0], ims[1]
	ok, _, err := a.TryLease(ctx, "short", "a", 300*time.Millisecond)
	require.NoError(t, err)
	require.True(t, ok)
	ok, who, err := b.TryLease(ctx, "short", "b", time.Minute)
	require.NoError(t, err)
	assert.False(t, ok, "held")
	assert.Equal(t, "a", who)
	time.Sleep(400 * time.Millisecond) // a died: no renewal
	ok, _, err = b.TryLease(ctx, "short", "b", time.Minute)
	require.NoError(t, err)
	assert.True(t, ok, "an expired lease is taken over")
	require.NoError(t, a.ReleaseLease(ctx, "short", "a"), "releasing another's lease does nothing")
	ok, _, err = a.TryLease(ctx, "short", "a", time.Minute)
	require.NoError(t, err)
	assert.False(t, ok, "still b's")
	require.NoError(t, b.ReleaseLease(ctx, "short", "b"))
	ok, _, err = a.TryLease(ctx, "short", "a", time.Minute)
	require.NoError(t, err)
	assert.True(t, ok, "a released lease is free at once")
}

// TestFollow: a commit by one kernel reaches another's Follow callback
// with a larger change sequence, and a method installed by one answers
// in the other at its next send.
func TestFollow(t *testing.T) {
	needPG(t)
	url := cluster.NewDatabase(t)
	a, b := openImage(t, url), openImage(t, url)
	assert.True(t, b.Shared())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seqs := make(chan uint64, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		assert.NoError(t, b.Follow(ctx, func(s uint64) { seqs <- s }))
	}()
	first := <-seqs // the catch-up call on start
	uvmtest.Update(t, a, func(tx *uvm.Tx) error {
		o, err := tx.New()
		require.NoError(t, err)
		require.NoError(t, o.Set("answer", int64(42)))
		return tx.SetRoot("shared", o)
	})
	select {
	case s := <-seqs:
		assert.Greater(t, s, first, "the change sequence moved")
	case <-time.After(5 * time.Second):
		t.Fatal("no notification of the other kernel's commit")
	}
	now, err := b.ChangeSeq(ctx)
	require.NoError(t, err)
	assert.Greater(t, now, first)
	uvmtest.View(t, b, func(tx *uvm.Tx) error {
		o, err := tx.Root("shared")
		require.NoError(t, err)
		v, err := tx.Send(ctx, o, "answer")
		require.NoError(t, err)
		assert.Equal(t, int64(42), v, "the other kernel's commit is read at once")
		return nil
	})
	cancel()
	<-done
}
