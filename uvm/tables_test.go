package uvm

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/stretchr/testify/require"
)

// TestCompressedTables: images written before uvm turned Badger's block
// compression off hold Snappy tables (Badger's default); ZSTD is Badger's
// other choice. Open's check and Salvage read both.
func TestCompressedTables(t *testing.T) {
	for _, c := range []options.CompressionType{options.Snappy, options.ZSTD} {
		t.Run(map[options.CompressionType]string{options.Snappy: "snappy", options.ZSTD: "zstd"}[c], func(t *testing.T) {
			dir := t.TempDir()
			db, err := badger.Open(badger.DefaultOptions(dir).WithCompression(c).WithLogger(nil).WithNumVersionsToKeep(1))
			require.NoError(t, err)
			const n = 200
			require.NoError(t, db.Update(func(txn *badger.Txn) error {
				if err := txn.Set(keyFormat, []byte{imageLayout}); err != nil {
					return err
				}
				for i := range OID(n) {
					slots := map[string]any{"n": int64(i), "text": strings.Repeat("compressible ", 20)}
					if err := txn.Set(objKey(i+1), encodeObject(slots, 0)); err != nil {
						return err
					}
				}
				return nil
			}))
			require.NoError(t, db.Close())
			logger := slog.New(slog.DiscardHandler)
			require.NoError(t, checkFiles(dir, logger))

			im, err := Open(dir, Options{})
			require.NoError(t, err, "an intact compressed image opens")
			require.NoError(t, im.Close())

			ssts, err := filepath.Glob(filepath.Join(dir, "*.sst"))
			require.NoError(t, err)
			require.NotEmpty(t, ssts)
			data, err := os.ReadFile(ssts[0]) // the compressed one; Open and Close added another

			require.NoError(t, err)
			index, _, why := tableIndex(data)
			require.Empty(t, why)
			blocks, why := indexBlocks(index, len(data))
			require.Empty(t, why)
			_, plain := checkedBlock(data[blocks[0].off : blocks[0].off+blocks[0].len])
			require.False(t, plain, "the blocks are compressed")
			data[len(data)/3] ^= 0xff
			require.NoError(t, os.WriteFile(ssts[0], data, 0o644))
			err = checkFiles(dir, logger)
			require.ErrorIs(t, err, ErrCorruptImage)
			require.ErrorContains(t, err, "fails its checksum")

			to := filepath.Join(t.TempDir(), "salvaged")
			rep, err := Salvage(context.Background(), dir, to)
			require.NoError(t, err)
			require.Len(t, rep.Damaged, 1)
			require.Greater(t, rep.Objects, n/2, "the intact blocks are read")
			require.Less(t, rep.Objects, n)
		})
	}
}
