// Package storetest is the conformance suite for implementations of
// package store: every backend runs Run against a fresh store.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/batos-dev/batos/uvm/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Harness opens the stores a run tests.
type Harness struct {
	// Open returns a new, empty store; the test closes it.
	Open func(t testing.TB) store.Store
	// Reopen closes s and opens the same store again, to prove that
	// committed writes survive. Nil skips the durability tests.
	Reopen func(t testing.TB, s store.Store) store.Store
}

// Run runs the conformance suite.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"GetSetDelete", testGetSetDelete},
		{"OwnWrites", testOwnWrites},
		{"Isolation", testIsolation},
		{"ReadOnly", testReadOnly},
		{"Conflict", testConflict},
		{"ConflictOnRead", testConflictOnRead},
		{"DisjointCommit", testDisjoint},
		{"Scan", testScan},
		{"ScanStop", testScanStop},
		{"LargeValues", testLarge},
		{"Versions", testVersions},
		{"Sequence", testSequence},
		{"Batch", testBatch},
		{"Durable", testDurable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

func open(t *testing.T, h Harness) store.Store {
	s := h.Open(t)
	t.Cleanup(func() { s.Close() })
	return s
}

func begin(t testing.TB, s store.Store, update bool) store.Txn {
	txn, err := s.Begin(context.Background(), update)
	require.NoError(t, err, "begin")
	t.Cleanup(txn.Discard)
	return txn
}

func put(t testing.TB, s store.Store, kv ...string) {
	txn := begin(t, s, true)
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "\x00delete" {
			require.NoError(t, txn.Delete([]byte(kv[i])))
			continue
		}
		require.NoError(t, txn.Set([]byte(kv[i]), []byte(kv[i+1])))
	}
	require.NoError(t, txn.Commit(), "commit")
}

func get(t testing.TB, txn store.Txn, key string) (string, bool) {
	v, _, found, err := txn.Get([]byte(key), nil)
	require.NoError(t, err, "get %q", key)
	if found {
		require.NotNil(t, v, "a present value is non-nil")
	}
	return string(v), found
}

func scan(t testing.TB, txn store.Txn, prefix string, values bool) []string {
	var out []string
	require.NoError(t, txn.Scan([]byte(prefix), values, func(k, v []byte) error {
		if values {
			out = append(out, string(k)+"="+string(v))
		} else {
			assert.Nil(t, v, "a keys-only scan gives no value")
			out = append(out, string(k))
		}
		return nil
	}))
	return out
}

func testGetSetDelete(t *testing.T, h Harness) {
	s := open(t, h)
	put(t, s, "a", "1", "b", "", "c", "3")
	r := begin(t, s, false)
	v, ok := get(t, r, "a")
	assert.True(t, ok)
	assert.Equal(t, "1", v)
	v, ok = get(t, r, "b")
	assert.True(t, ok, "an empty value is present")
	assert.Equal(t, "", v)
	_, ok = get(t, r, "zz")
	assert.False(t, ok, "absent key")
	r.Discard()
	put(t, s, "a", "\x00delete", "nope", "\x00delete")
	r = begin(t, s, false)
	_, ok = get(t, r, "a")
	assert.False(t, ok, "deleted key")
	v, _ = get(t, r, "c")
	assert.Equal(t, "3", v)
}

func testOwnWrites(t *testing.T, h Harness) {
	s := open(t, h)
	put(t, s, "k1", "old", "k2", "two")
	w := begin(t, s, true)
	require.NoError(t, w.Set([]byte("k1"), []byte("new")))
	require.NoError(t, w.Set([]byte("k3"), []byte("three")))
	require.NoError(t, w.Delete([]byte("k2")))
	v, _ := get(t, w, "k1")
	assert.Equal(t, "new", v, "a transaction reads its own write")
	_, ok := get(t, w, "k2")
	assert.False(t, ok, "a transaction reads its own delete")
	assert.Equal(t, []string{"k1=new", "k3=three"}, scan(t, w, "k", true), "a scan sees the transaction's own writes")
	w.Discard()
	r := begin(t, s, false)
	assert.Equal(t, []string{"k1=old", "k2=two"}, scan(t, r, "k", true), "a discarded transaction leaves nothing")
}

func testIsolation(t *testing.T, h Harness) {
	s := open(t, h)
	put(t, s, "x", "1")
	r := begin(t, s, false)
	v, _ := get(t, r, "x")
	require.Equal(t, "1", v)
	w := begin(t, s, true)
	require.NoError(t, w.Set([]byte("x"), []byte("2")))
	require.NoError(t, w.Set([]byte("y"), []byte("2")))
	r2 := begin(t, s, false)
	v, _ = get(t, r2, "x")
	assert.Equal(t, "1", v, "an uncommitted write is invisible")
	require.NoError(t, w.Commit())
	v, _ = get(t, r, "x")
	assert.Equal(t, "1", v, "a snapshot does not move")
	_, ok := get(t, r, "y")
	assert.False(t, ok, "a snapshot does not see later keys")
	assert.Equal(t, []string{"x=1"}, scan(t, r, "", true), "a snapshot's scan does not move")
	r3 := begin(t, s, false)
	v, _ = get(t, r3, "x")
	assert.Equal(t, "2", v, "a later transaction sees the commit")
}

func testReadOnly(t *testing.T, h Harness) {
	s := open(t, h)
	r := begin(t, s, false)
	assert.ErrorIs(t, r.Set([]byte("a"), []byte("1")), store.ErrReadOnly)
	assert.ErrorIs(t, r.Delete([]byte("a")), store.ErrReadOnly)
}

// testConflict: two transactions read and write one key; the second to
// commit conflicts and leaves nothing.
func testConflict(t *testing.T, h Harness) {
	s := open(t, h)
	put(t, s, "n", "0")
	a, b := begin(t, s, true), begin(t, s, true)
	get(t, a, "n")
	get(t, b, "n")
	require.NoError(t, a.Set([]byte("n"), []byte("a")))
	require.NoError(t, b.Set([]byte("n"), []byte("b")))
	require.NoError(t, b.Set([]byte("other"), []byte("b")))
	require.NoError(t, a.Commit())
	err := b.Commit()
	require.ErrorIs(t, err, store.ErrConflict)
	r := begin(t, s, false)
	v, _ := get(t, r, "n")
	assert.Equal(t, "a", v)
	_, ok := get(t, r, "other")
	assert.False(t, ok, "a conflicted commit leaves nothing")
}

// testConflictOnRead: a transaction that read a key another one changed
// cannot commit a write based on it (write skew is refused).
func testConflictOnRead(t *testing.T, h Harness) {
	s := open(t, h)
	put(t, s, "x", "0", "y", "0")
	a, b := begin(t, s, true), begin(t, s, true)
	get(t, a, "x")
	get(t, a, "y")
	get(t, b, "x")
	get(t, b, "y")
	require.NoError(t, a.Set([]byte("x"), []byte("1")))
	require.NoError(t, b.Set([]byte("y"), []byte("1")))
	errA, errB := a.Commit(), b.Commit()
	assert.True(t, errA == nil || errB == nil, "one commits")
	assert.True(t, errors.Is(errA, store.ErrConflict) || errors.Is(errB, store.ErrConflict), "the other conflicts: %v / %v", errA, errB)
}

func testDisjoint(t *testing.T, h Harness) {
	s := open(t, h)
	put(t, s, "p", "0", "q", "0")
	a, b := begin(t, s, true), begin(t, s, true)
	get(t, a, "p")
	get(t, b, "q")
	require.NoError(t, a.Set([]byte("p"), []byte("1")))
	require.NoError(t, b.Set([]byte("q"), []byte("1")))
	require.NoError(t, a.Commit())
	require.NoError(t, b.Commit(), "transactions on disjoint keys both commit")
	// Concurrent writers of distinct keys all commit, retrying a conflict
	// (an engine may report a false one, as PostgreSQL's predicate locks
	// on index pages do).
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			for range 20 {
				if errs[i] = writeOne(s, i); !errors.Is(errs[i], store.ErrConflict) {
					return
				}
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		assert.NoError(t, err, "writer %d", i)
	}
}

func writeOne(s store.Store, i int) error {
	txn, err := s.Begin(context.Background(), true)
	if err != nil {
		return err
	}
	defer txn.Discard()
	k := []byte(fmt.Sprintf("w%d", i))
	if _, _, _, err := txn.Get(k, nil); err != nil {
		return err
	}
	if err := txn.Set(k, []byte("v")); err != nil {
		return err
	}
	return txn.Commit()
}

func testScan(t *testing.T, h Harness) {
	s := open(t, h)
	put(t, s, "b/2", "two", "a", "x", "b/1", "one", "b/\xff", "ff", "b/10", "ten", "c", "y", "b", "bare", "\xff\xff", "top")
	r := begin(t, s, false)
	assert.Equal(t, []string{"b/1=one", "b/10=ten", "b/2=two", "b/\xff=ff"}, scan(t, r, "b/", true), "prefix scan in byte order")
	assert.Equal(t, []string{"b/1", "b/10", "b/2", "b/\xff"}, scan(t, r, "b/", false), "keys only")
	assert.Equal(t, []string{"a", "b", "b/1", "b/10", "b/2", "b/\xff", "c", "\xff\xff"}, scan(t, r, "", false), "an empty prefix scans everything")
	var all []string
	require.NoError(t, r.Scan(nil, false, func(k, _ []byte) error {
		all = append(all, string(k))
		return nil
	}))
	assert.Len(t, all, 8, "a nil prefix scans everything")
	assert.Equal(t, []string{"\xff\xff"}, scan(t, r, "\xff", false), "a prefix of 0xff")
	assert.Empty(t, scan(t, r, "zz", false))
	w := begin(t, s, true)
	require.NoError(t, w.Set([]byte("b/15"), []byte("fifteen")))
	require.NoError(t, w.Set([]byte("b/1"), []byte("uno")))
	require.NoError(t, w.Delete([]byte("b/2")))
	assert.Equal(t, []string{"b/1=uno", "b/10=ten", "b/15=fifteen", "b/\xff=ff"}, scan(t, w, "b/", true), "own writes merged in order")
}

func testScanStop(t *testing.T, h Harness) {
	s := open(t, h)
	put(t, s, "s1", "1", "s2", "2", "s3", "3")
	r := begin(t, s, false)
	stop := errors.New("stop")
	n := 0
	err := r.Scan([]byte("s"), true, func(k, v []byte) error {
		n++
		return stop
	})
	assert.Same(t, stop, err, "fn's error is returned as it is")
	assert.Equal(t, 1, n)
}

func testLarge(t *testing.T, h Harness) {
	s := open(t, h)
	// Just under 1 MiB, uvm's blob chunk size: the largest value an
	// in-memory Badger takes.
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)[:1<<20-1024]
	big[12345] = 0
	w := begin(t, s, true)
	for i := range 3 {
		require.NoError(t, w.Set([]byte(fmt.Sprintf("big%d", i)), big[:len(big)-64*i]))
	}
	require.NoError(t, w.Commit())
	r := begin(t, s, false)
	for i := range 3 {
		v, _, found, err := r.Get([]byte(fmt.Sprintf("big%d", i)), nil)
		require.NoError(t, err)
		require.True(t, found)
		assert.True(t, bytes.Equal(big[:len(big)-64*i], v), "value %d round-trips", i)
	}
	n := 0
	require.NoError(t, r.Scan([]byte("big"), true, func(k, v []byte) error {
		assert.Len(t, v, len(big)-64*n)
		n++
		return nil
	}))
	assert.Equal(t, 3, n)
}

func testVersions(t *testing.T, h Harness) {
	s := open(t, h)
	put(t, s, "v", "1", "w", "1")
	version := func(key string) uint64 {
		r := begin(t, s, false)
		defer r.Discard()
		_, ver, found, err := r.Get([]byte(key), nil)
		require.NoError(t, err)
		require.True(t, found)
		require.NotZero(t, ver, "a committed value has a version")
		return ver
	}
	v1 := version("v")
	assert.Equal(t, v1, version("v"), "a version is stable")
	w1 := version("w")
	put(t, s, "v", "2")
	v2 := version("v")
	assert.NotEqual(t, v1, v2, "a new value has a new version")
	assert.Equal(t, w1, version("w"), "an unchanged key keeps its version")
	// skip: the value is not read.
	r := begin(t, s, false)
	val, ver, found, err := r.Get([]byte("v"), func(ver uint64) bool { return ver == v2 })
	require.NoError(t, err)
	assert.True(t, found)
	assert.Nil(t, val, "a skipped value is not read")
	assert.Equal(t, v2, ver)
	_, ver, found, err = r.Get([]byte("none"), func(uint64) bool { return true })
	require.NoError(t, err)
	assert.False(t, found)
	assert.Zero(t, ver)
}

func testSequence(t *testing.T, h Harness) {
	s := open(t, h)
	key := []byte("m/seq")
	a, err := s.Sequence(key, 4)
	require.NoError(t, err)
	b, err := s.Sequence(key, 4)
	require.NoError(t, err)
	seen := map[uint64]bool{}
	last := map[string]uint64{}
	for i := range 20 {
		for name, q := range map[string]store.Sequence{"a": a, "b": b} {
			n, err := q.Next()
			require.NoError(t, err)
			assert.False(t, seen[n], "value %d handed out twice (round %d)", n, i)
			assert.Greater(t, n+1, last[name], "a sequence increases")
			seen[n], last[name] = true, n+1
		}
	}
	require.NoError(t, a.Release())
	require.NoError(t, b.Release())
	c, err := s.Sequence(key, 4)
	require.NoError(t, err)
	n, err := c.Next()
	require.NoError(t, err)
	assert.False(t, seen[n], "a new holder continues past what was handed out")
	require.NoError(t, c.Release())
}

func testBatch(t *testing.T, h Harness) {
	s := open(t, h)
	b := s.NewBatch()
	for i := range 2000 {
		require.NoError(t, b.Set([]byte(fmt.Sprintf("k%05d", i)), []byte(fmt.Sprint(i))))
	}
	require.NoError(t, b.Flush())
	b.Cancel()
	r := begin(t, s, false)
	assert.Len(t, scan(t, r, "k", false), 2000)
	v, _ := get(t, r, "k01999")
	assert.Equal(t, "1999", v)
}

func testDurable(t *testing.T, h Harness) {
	if h.Reopen == nil {
		t.Skip("the store cannot be reopened")
	}
	s := h.Open(t)
	put(t, s, "d1", "one", "d2", "two")
	put(t, s, "d2", "\x00delete")
	w := begin(t, s, true)
	require.NoError(t, w.Set([]byte("d3"), []byte("uncommitted")))
	w.Discard()
	s = h.Reopen(t, s)
	r := begin(t, s, false)
	assert.Equal(t, []string{"d1=one"}, scan(t, r, "d", true), "committed writes survive a reopen; discarded ones do not")
	r.Discard()
	require.NoError(t, s.Close())
}
