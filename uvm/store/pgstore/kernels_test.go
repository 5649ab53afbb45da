package pgstore_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
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

// holderEnv makes the test binary a kernel that takes the lease "cycle"
// and keeps renewing it, as a kernel in the middle of a cycle does.
const holderEnv = "BATOS_PGSTORE_TEST_HOLDER"

func holdLease(url string) {
	im, err := uvm.Open(url, uvm.Options{})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	ctx := context.Background()
	holder := fmt.Sprintf("kernel pid %d", os.Getpid())
	for said := false; ; time.Sleep(100 * time.Millisecond) {
		ok, _, err := im.TryLease(ctx, "cycle", holder, 500*time.Millisecond)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		if ok && !said {
			fmt.Println("held")
			said = true
		}
	}
}

// TestLeaseHolderKilled: a kernel in another process holds the cycle's
// lease; while it lives this kernel cannot take it; killed with SIGKILL
// mid-cycle, its lease expires and this kernel takes over and completes
// the work.
func TestLeaseHolderKilled(t *testing.T) {
	needPG(t)
	url := cluster.NewDatabase(t)
	im := openImage(t, url)
	ctx := context.Background()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holderEnv+"="+url)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "held\n", line)

	ok, who, err := im.TryLease(ctx, "cycle", "me", time.Minute)
	require.NoError(t, err)
	require.False(t, ok, "the other kernel holds the lease")
	assert.Equal(t, fmt.Sprintf("kernel pid %d", cmd.Process.Pid), who)

	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	killed := time.Now()
	for !ok {
		require.Less(t, time.Since(killed), 5*time.Second, "the dead kernel's lease was never taken over")
		time.Sleep(50 * time.Millisecond)
		ok, _, err = im.TryLease(ctx, "cycle", "me", time.Minute)
		require.NoError(t, err)
	}
	t.Logf("lease taken over %v after the holder was killed", time.Since(killed).Round(time.Millisecond))
	uvmtest.Update(t, im, func(tx *uvm.Tx) error {
		o, err := tx.New()
		require.NoError(t, err)
		require.NoError(t, o.Set("done by", "me"))
		return tx.SetRoot("cycle result", o)
	})
	require.NoError(t, im.ReleaseLease(ctx, "cycle", "me"))
}

// TestChangeSeqCoversCommits: a reader that stamps what it read with the
// change sequence read before it never holds a stamp as new as the
// current sequence without holding every commit acknowledged so far. A
// reader refreshes such a cache without pause while a writer commits.
func TestChangeSeqCoversCommits(t *testing.T) {
	needPG(t)
	s := open(t, cluster.NewDatabase(t))
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	key := []byte("counter")
	read := func() (uint64, error) {
		txn, err := s.Begin(ctx, false)
		if err != nil {
			return 0, err
		}
		defer txn.Discard()
		v, _, _, err := txn.Get(key, nil)
		if err != nil || len(v) == 0 {
			return 0, err
		}
		return strconv.ParseUint(string(v), 10, 64)
	}
	var (
		mu          sync.Mutex
		stamp, held uint64 // the cache: a change sequence and the value read after it
	)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for ctx.Err() == nil {
				seq, err := s.ChangeSeq(ctx)
				if err != nil {
					break
				}
				v, err := read()
				if err != nil {
					break
				}
				mu.Lock()
				if seq > stamp {
					stamp, held = seq, v
				}
				mu.Unlock()
			}
		})
	}
	for i := uint64(1); i <= 100; i++ {
		txn, err := s.Begin(ctx, true)
		require.NoError(t, err)
		require.NoError(t, txn.Set(key, []byte(strconv.FormatUint(i, 10))))
		require.NoError(t, txn.Commit())
		now, err := s.ChangeSeq(ctx)
		require.NoError(t, err)
		mu.Lock()
		if stamp >= now {
			assert.GreaterOrEqual(t, held, i, "commit %d: the cache is stamped with the current sequence %d but misses the commit", i, now)
		}
		mu.Unlock()
	}
	cancel()
	wg.Wait()
}
