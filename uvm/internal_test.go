package uvm

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/stretchr/testify/require"
)

// rawPut writes bytes under a key, bypassing the encoding, to simulate damage.
func rawPut(t *testing.T, im *Image, key, val []byte) {
	t.Helper()
	require.NoError(t, im.db.Update(func(txn *badger.Txn) error { return txn.Set(key, val) }))
}

func TestCorruptValuesAreLoud(t *testing.T) {
	ctx := context.Background()
	im, err := Open("", Options{InMemory: true})
	require.NoError(t, err)
	defer im.Close()
	var oid OID
	require.NoError(t, im.Update(ctx, func(tx *Tx) error {
		o, _ := tx.New()
		oid = o.OID()
		o.Set("alpha", "aaaa")
		o.Set("beta", "bbbb")
		return nil
	}))
	var good []byte
	require.NoError(t, im.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(objKey(oid))
		if err != nil {
			return err
		}
		good, err = item.ValueCopy(nil)
		return err
	}))
	flipIn := func(b []byte, s string) []byte {
		c := append([]byte(nil), b...)
		i := indexOf(c, []byte(s))
		require.GreaterOrEqual(t, i, 0)
		c[i] ^= 0x20
		return c
	}
	cases := []struct {
		name     string
		val      []byte
		wantSlot string
	}{
		{"empty value", []byte{}, ""},
		{"short header", []byte{1, 2}, ""},
		{"future format", append([]byte{9}, good[1:]...), ""},
		{"flipped value byte", flipIn(good, "bbbb"), "beta"},
		{"flipped name byte", flipIn(good, "alpha"), "Alpha"},
		{"truncated", good[:len(good)-3], ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rawPut(t, im, objKey(oid), c.val)
			err := im.View(ctx, func(tx *Tx) error {
				_, err := tx.Object(oid)
				return err
			})
			require.ErrorIs(t, err, ErrCorrupt)
			var ce *CorruptError
			require.True(t, errors.As(err, &ce))
			require.Equal(t, oid, ce.OID, "names the object: %v", err)
			if c.wantSlot != "" {
				require.Equal(t, c.wantSlot, ce.Slot, "names the slot: %v", err)
			}
		})
	}
}

func indexOf(b, sub []byte) int {
	for i := 0; i+len(sub) <= len(b); i++ {
		if string(b[i:i+len(sub)]) == string(sub) {
			return i
		}
	}
	return -1
}

func TestNewerFormatRefused(t *testing.T) {
	dir := t.TempDir()
	im, err := Open(dir, Options{NoSync: true})
	require.NoError(t, err)
	rawPut(t, im, keyFormat, []byte{formatVersion + 1})
	require.NoError(t, im.Close())
	_, err = Open(dir, Options{NoSync: true})
	require.ErrorIs(t, err, ErrFormat)
}

func TestHugeSlotLengthIsCorruptNotPanic(t *testing.T) {
	payload := binary.AppendUvarint(nil, 1)
	payload = appendString(payload, "s")
	payload = binary.AppendUvarint(payload, ^uint64(0)-2) // size+4 would wrap
	payload = append(payload, 1, 2, 3)
	_, err := decodeObject(7, objKey(7), frame(payload))
	require.ErrorIs(t, err, ErrCorrupt)
	var ce *CorruptError
	require.True(t, errors.As(err, &ce))
	require.Equal(t, "s", ce.Slot)
}

func TestLookupContainerChangeNeedsMark(t *testing.T) {
	ctx := context.Background()
	im, err := Open("", Options{InMemory: true})
	require.NoError(t, err)
	defer im.Close()
	var oid OID
	require.NoError(t, im.Update(ctx, func(tx *Tx) error {
		o, _ := tx.New()
		oid = o.OID()
		return o.Set("list", []any{int64(1)})
	}))
	err = im.Update(ctx, func(tx *Tx) error {
		o, _ := tx.Object(oid)
		f, err := tx.Lookup(o, "list")
		if err != nil {
			return err
		}
		f.Value.([]any)[0] = int64(2)
		return nil
	})
	require.ErrorIs(t, err, ErrCovenant)
}
