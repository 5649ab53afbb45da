package pgstore_test

import (
	"context"
	"testing"

	"github.com/batos-dev/batos/uvm/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// set commits key=val in a transaction of its own.
func set(t *testing.T, s store.Store, key, val string) {
	t.Helper()
	txn, err := s.Begin(context.Background(), true)
	require.NoError(t, err)
	require.NoError(t, txn.Set([]byte(key), []byte(val)))
	require.NoError(t, txn.Commit())
}

// TestParkGivesBackTheConnection: a parked transaction holds no
// connection; it goes on afterwards, and its commit succeeds when nothing
// it read before parking changed.
func TestParkGivesBackTheConnection(t *testing.T) {
	needPG(t)
	s := open(t, cluster.NewDatabase(t)+"&pool_max_conns=1")
	defer s.Close()
	set(t, s, "a", "1")
	ctx := context.Background()
	txn, err := s.Begin(ctx, true)
	require.NoError(t, err)
	v, _, found, err := txn.Get([]byte("a"), nil)
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, "1", string(v))
	require.NoError(t, txn.Set([]byte("b"), []byte("from the parked transaction")))
	assert.Equal(t, int32(1), s.Pool().Stat().AcquiredConns())
	require.True(t, txn.(store.Parker).Park())
	assert.Equal(t, int32(0), s.Pool().Stat().AcquiredConns(), "parked: the one connection is free")

	set(t, s, "c", "another transaction used the connection meanwhile")

	_, _, found, err = txn.Get([]byte("c"), nil)
	require.NoError(t, err)
	assert.True(t, found, "reads after parking take a connection again")
	require.NoError(t, txn.Commit(), "nothing read before parking changed")
	check, err := s.Begin(ctx, false)
	require.NoError(t, err)
	defer check.Discard()
	v, _, _, err = check.Get([]byte("b"), nil)
	require.NoError(t, err)
	assert.Equal(t, "from the parked transaction", string(v), "writes made before parking are kept")
}

// TestParkChecksReadsAgain: a change, committed while a transaction was
// parked, to a key it read, to the presence of a key it found missing, or
// under a prefix it read whole, makes its commit a conflict.
func TestParkChecksReadsAgain(t *testing.T) {
	needPG(t)
	s := open(t, cluster.NewDatabase(t))
	defer s.Close()
	set(t, s, "obj/1", "x")
	set(t, s, "key", "1")
	ctx := context.Background()
	for name, tc := range map[string]struct {
		read   func(store.Txn) error
		change func()
	}{
		"a key read changed": {
			read:   func(txn store.Txn) error { _, _, _, err := txn.Get([]byte("key"), nil); return err },
			change: func() { set(t, s, "key", "2") },
		},
		"a missing key appeared": {
			read:   func(txn store.Txn) error { _, _, _, err := txn.Get([]byte("absent"), nil); return err },
			change: func() { set(t, s, "absent", "now here") },
		},
		"a key appeared under a prefix read whole": {
			read:   func(txn store.Txn) error { return txn.(store.Prefetcher).Prefetch([]byte("obj/")) },
			change: func() { set(t, s, "obj/2", "y") },
		},
	} {
		t.Run(name, func(t *testing.T) {
			txn, err := s.Begin(ctx, true)
			require.NoError(t, err)
			require.NoError(t, tc.read(txn))
			require.True(t, txn.(store.Parker).Park())
			tc.change()
			require.NoError(t, txn.Set([]byte("out"), []byte("w")))
			assert.ErrorIs(t, txn.Commit(), store.ErrConflict)
		})
	}

	t.Run("a transaction that scanned does not park", func(t *testing.T) {
		txn, err := s.Begin(ctx, true)
		require.NoError(t, err)
		defer txn.Discard()
		require.NoError(t, txn.Scan([]byte("obj/"), false, func(k, v []byte) error { return nil }))
		assert.False(t, txn.(store.Parker).Park())
	})
	t.Run("a read-only transaction does not park", func(t *testing.T) {
		txn, err := s.Begin(ctx, false)
		require.NoError(t, err)
		defer txn.Discard()
		assert.False(t, txn.(store.Parker).Park())
	})
}
