package badgerstore_test

import (
	"testing"

	"github.com/batos-dev/batos/uvm/store"
	"github.com/batos-dev/batos/uvm/store/badgerstore"
	"github.com/batos-dev/batos/uvm/store/storetest"
	"github.com/dgraph-io/badger/v4"
	"github.com/stretchr/testify/require"
)

func options(dir string) badger.Options {
	return badger.DefaultOptions(dir).WithLogger(nil).WithSyncWrites(true)
}

func TestConformance(t *testing.T) {
	dirs := map[store.Store]string{}
	storetest.Run(t, storetest.Harness{
		Open: func(t testing.TB) store.Store {
			dir := t.TempDir()
			s, err := badgerstore.Open(options(dir))
			require.NoError(t, err)
			dirs[s] = dir
			return s
		},
		Reopen: func(t testing.TB, s store.Store) store.Store {
			require.NoError(t, s.Close())
			s2, err := badgerstore.Open(options(dirs[s]))
			require.NoError(t, err)
			return s2
		},
	})
}

func TestConformanceInMemory(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		Open: func(t testing.TB) store.Store {
			s, err := badgerstore.Open(badger.DefaultOptions("").WithInMemory(true).WithLogger(nil))
			require.NoError(t, err)
			return s
		},
	})
}
