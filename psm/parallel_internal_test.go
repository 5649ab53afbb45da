package psm

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// meddlingKnowledge is fakeKnowledge whose Learn, which runs inside the
// install's transaction, first commits a change to the same object from
// another goroutine, the first times times: the install then conflicts.
// With gone set, that change also removes the slot gone, so the image
// the install validates again on lacks it.
type meddlingKnowledge struct {
	fakeKnowledge
	im    func() *uvm.Image
	times int64
	gone  string
	n     atomic.Int64
}

func (k *meddlingKnowledge) Learn(ctx context.Context, tx *uvm.Tx, oid uvm.OID, m uvm.Method) error {
	if n := k.n.Add(1); n <= k.times {
		done := make(chan error, 1)
		go func() {
			done <- k.im().Update(ctx, func(tx *uvm.Tx) error {
				o, err := tx.Object(oid)
				if err != nil {
					return err
				}
				if err := o.Set(fmt.Sprintf("meddled_%d", n), n); err != nil || k.gone == "" {
					return err
				}
				return o.Delete(k.gone)
			})
		}()
		if err := <-done; err != nil {
			return err
		}
	}
	return k.fakeKnowledge.Learn(ctx, tx, oid, m)
}

// meddlingMind is a testMind whose installs conflict the first times
// times.
func meddlingMind(t *testing.T, s *script, opts Options, times int64) (*Mind, *meddlingKnowledge) {
	t.Helper()
	m, _ := testMind(t, s, opts)
	k := &meddlingKnowledge{im: m.Image, times: times}
	m.knowledge = k
	return m, k
}

// An install that conflicts is validated again and committed again,
// without a model call; the record keeps the conflict, and the
// concurrent commit is not lost.
func TestInstallConflictValidatesAgain(t *testing.T) {
	ctx := context.Background()
	s := &script{replies: []string{plan, "CODE\nSET mood happy\nANSWER done"}}
	m, k := meddlingMind(t, s, Options{}, 1)
	v, err := m.Send(ctx, m.Genesis(), "greet")
	require.NoError(t, err)
	require.Equal(t, "done", v)
	require.Equal(t, int64(2), s.calls.Load(), "model calls: the plan and one synthesis, none after the conflict")
	require.Equal(t, int64(2), k.n.Load(), "installs tried")

	recs, err := m.Cycles(ctx)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	rec := recs[0]
	require.Equal(t, Complete, rec.Outcome)
	require.Equal(t, 1, rec.Version)
	require.Len(t, rec.Conflicts, 1)
	require.Equal(t, 1, rec.Conflicts[0].Try)
	require.Contains(t, strings.Join(rec.Conflicts[0].Wrote, "\n"), "greet", "what the install wrote")
	dryRuns := 0
	for _, e := range rec.Events {
		if e.Kind == EventVerdict && e.Text == "dry run: ok" {
			dryRuns++
		}
	}
	require.Equal(t, 2, dryRuns, "the dry run ran again after the conflict")

	var vs []uvm.Method
	require.NoError(t, m.im.View(ctx, func(tx *uvm.Tx) error {
		g, err := tx.Object(m.Genesis())
		if err != nil {
			return err
		}
		got, _ := g.Get("meddled_1")
		assert.Equal(t, int64(1), got, "the concurrent commit is kept")
		got, _ = g.Get("mood")
		assert.Equal(t, "happy", got, "the resent message ran once")
		vs, err = tx.MethodVersions(g, "greet")
		return err
	}))
	require.Len(t, vs, 1, "installed once")
}

// An install that keeps conflicting fails after Options.MaxInstallRetries
// tries, each recorded, and leaves no method behind.
func TestInstallConflictGivesUp(t *testing.T) {
	ctx := context.Background()
	s := &script{replies: []string{plan, "CODE\nANSWER done"}}
	m, k := meddlingMind(t, s, Options{MaxInstallRetries: 2}, 100)
	_, err := m.Send(ctx, m.Genesis(), "greet")
	require.ErrorIs(t, err, ErrCycleFailed)
	require.ErrorIs(t, err, uvm.ErrConflict)
	require.Equal(t, int64(3), k.n.Load(), "installs tried: one, then two retries")
	recs, err := m.Cycles(ctx)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Equal(t, Failed, recs[0].Outcome)
	require.Equal(t, Complete, recs[0].FailedIn)
	require.Len(t, recs[0].Conflicts, 3)
	require.NoError(t, m.im.View(ctx, func(tx *uvm.Tx) error {
		g, err := tx.Object(m.Genesis())
		if err != nil {
			return err
		}
		assert.False(t, g.Has("greet"), "no method installed")
		return nil
	}))
}

// Cycles beyond Options.MaxConcurrentCycles wait for a turn, and a
// waiter whose context ends stops waiting.
func TestTurnsBoundCycles(t *testing.T) {
	tr := newTurns(2)
	key := flightKey{oid: 1, sel: "x"}
	r1, err := tr.take(context.Background(), key)
	require.NoError(t, err)
	r2, err := tr.take(context.Background(), key)
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = tr.take(ctx, key)
	require.ErrorIs(t, err, context.DeadlineExceeded, "a third waits, and gives up with its context")
	require.ErrorContains(t, err, "2 cycles run at once")

	got := make(chan error, 1)
	go func() {
		r3, err := tr.take(context.Background(), key)
		if err == nil {
			r3()
		}
		got <- err
	}()
	select {
	case err := <-got:
		require.Failf(t, "a turn beyond the bound", "got %v before a turn was given back", err)
	case <-time.After(20 * time.Millisecond):
	}
	r1()
	require.NoError(t, <-got, "a turn given back goes to the waiter")
	r2()
	require.Nil(t, newTurns(-1), "no bound")
}

// Installs that lock the same objects in any order never wait for each
// other for ever; a waiter gives up with its context.
func TestInstallLocks(t *testing.T) {
	var l installLocks
	ctx := context.Background()
	done := make(chan struct{})
	var inside atomic.Int32
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range 200 {
					oids := []uvm.OID{1, 2, 3}
					if (g+i)%2 == 0 {
						oids = []uvm.OID{3, 2, 1, 2}
					}
					unlock, err := l.lock(ctx, wholeObjects(oids...))
					if err != nil {
						t.Error(err)
						return
					}
					if n := inside.Add(1); n != 1 {
						t.Errorf("%d holders of the same objects at once", n)
					}
					inside.Add(-1)
					unlock()
					unlock() // twice is once
				}
			})
		}
		wg.Wait()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		require.FailNow(t, "install locks deadlocked")
	}

	unlock, err := l.lock(ctx, wholeObjects(7))
	require.NoError(t, err)
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err = l.lock(short, wholeObjects(5, 7))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	unlock()
	again, err := l.lock(ctx, wholeObjects(5, 7))
	require.NoError(t, err, "object 5, taken by the waiter that gave up, was given back")
	again()
	require.Empty(t, l.m, "nothing held")

	// Parts of one object are held apart; the whole object waits for them.
	p1, err := l.lock(ctx, []objectPart{{9, 1}})
	require.NoError(t, err)
	p2, err := l.lock(ctx, []objectPart{{9, 2}})
	require.NoError(t, err, "another part of the same object")
	whole := make(chan error, 1)
	go func() {
		u, err := l.lock(ctx, wholeObjects(9))
		if err == nil {
			u()
		}
		whole <- err
	}()
	select {
	case err := <-whole:
		require.Failf(t, "the whole object while parts are held", "got %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	p1()
	p2()
	require.NoError(t, <-whole)
	require.Empty(t, l.m, "nothing held")
}

// An install locks its selector's part of an object it has given methods
// to, and the whole of any other object.
func TestInstallParts(t *testing.T) {
	var l installLocks
	keys := []flightKey{{oid: 3, sel: "greet"}, {oid: 4, sel: "greet"}}
	require.Len(t, l.parts(keys), 2*uvm.MethodParts)
	l.holdMethods(keys[:1])
	require.Equal(t, append([]objectPart{{3, uvm.MethodPart("greet")}}, wholeObjects(4)...), l.parts(keys))
}
