package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/batos-dev/batos/uvm/store"
	"github.com/batos-dev/batos/uvm/store/pgstore"
	"github.com/batos-dev/batos/uvm/store/pgstore/pgtest"
	"github.com/batos-dev/batos/uvm/store/storetest"
	"github.com/stretchr/testify/require"
)

// cluster is the test binary's one server (nil without PostgreSQL).
var cluster *pgtest.Cluster

func TestMain(m *testing.M) {
	if url := os.Getenv(holderEnv); url != "" {
		holdLease(url) // a kernel process of TestLeaseHolderKilled
		return
	}
	c, err := pgtest.Start()
	switch {
	case errors.Is(err, pgtest.ErrNoServer):
		fmt.Println(pgtest.Hint)
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	default:
		cluster = c
	}
	code := m.Run()
	if cluster != nil {
		cluster.Stop()
	}
	os.Exit(code)
}

func needPG(t testing.TB) {
	if cluster == nil {
		t.Skip(pgtest.Hint)
	}
}

func open(t testing.TB, url string) *pgstore.Store {
	s, err := pgstore.Open(context.Background(), url)
	require.NoError(t, err)
	return s
}

func TestConformance(t *testing.T) {
	needPG(t)
	urls := map[store.Store]string{}
	storetest.Run(t, storetest.Harness{
		Open: func(t testing.TB) store.Store {
			url := cluster.NewDatabase(t)
			s := open(t, url)
			urls[s] = url
			return s
		},
		Reopen: func(t testing.TB, s store.Store) store.Store {
			require.NoError(t, s.Close())
			return open(t, urls[s])
		},
	})
}

func TestSchemaVersion(t *testing.T) {
	needPG(t)
	url := cluster.NewDatabase(t)
	s := open(t, url)
	_, err := s.Pool().Exec(context.Background(), `UPDATE batos_meta SET value = 99 WHERE name = 'schema'`)
	require.NoError(t, err)
	s.Close()
	_, err = pgstore.Open(context.Background(), url)
	require.ErrorIs(t, err, pgstore.ErrSchema)
}

// A DeferSync commit (synchronous_commit off for its transaction) is
// committed and visible like any other, both when its transaction had
// read first and when the commit is its first statement, and the setting
// ends with it.
func TestDeferSync(t *testing.T) {
	needPG(t)
	ctx := context.Background()
	s := open(t, cluster.NewDatabase(t))
	defer s.Close()
	commit := func(key string, readFirst bool) {
		tx, err := s.Begin(ctx, true)
		require.NoError(t, err)
		if readFirst {
			_, _, _, err := tx.Get([]byte("other"), nil)
			require.NoError(t, err)
		}
		tx.(store.SyncDeferrer).DeferSync()
		require.NoError(t, tx.Set([]byte(key), []byte("v-"+key)))
		require.NoError(t, tx.Commit())
	}
	commit("a", false)
	commit("b", true)
	tx, err := s.Begin(ctx, false)
	require.NoError(t, err)
	defer tx.Discard()
	for _, k := range []string{"a", "b"} {
		v, _, found, err := tx.Get([]byte(k), nil)
		require.NoError(t, err)
		require.True(t, found, k)
		require.Equal(t, "v-"+k, string(v))
	}
	var setting string
	require.NoError(t, s.Pool().QueryRow(ctx, "SHOW synchronous_commit").Scan(&setting))
	require.Equal(t, "on", setting, "SET LOCAL ends with its transaction")
}
