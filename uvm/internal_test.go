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

// Methods are kept encoded when an object loads and decoded on first use:
// the object must read, run and re-encode exactly as if decoded at once,
// and a method whose bytes pass the checksums but do not decode must still
// be reported when the object loads, naming the slot.
func TestMethodSlotsDecodeOnUse(t *testing.T) {
	ctx := context.Background()
	im, err := Open("", Options{InMemory: true})
	require.NoError(t, err)
	defer im.Close()
	var oid OID
	var installed Method
	require.NoError(t, im.Update(ctx, func(tx *Tx) error {
		o, _ := tx.New()
		oid = o.OID()
		o.Set("data", "d")
		installed, err = tx.InstallMethod(o, Method{Selector: "greet", Source: "package m\n// source\n", Persona: "ALFRED", Intent: "say hi"})
		return err
	}))
	before, err := im.Fingerprint(ctx)
	require.NoError(t, err)

	require.NoError(t, im.Update(ctx, func(tx *Tx) error {
		o, err := tx.Object(oid)
		require.NoError(t, err)
		require.IsType(t, lazyMethod{}, o.slots["greet"], "still encoded after load")
		f, err := tx.Lookup(o, "greet")
		require.NoError(t, err)
		require.Equal(t, installed, f.Value, "Lookup decodes it")
		v, ok := o.Get("greet")
		require.True(t, ok)
		require.Equal(t, installed, v)
		require.Equal(t, o.orig, encodeObject(o.slots, 0), "a decoded method re-encodes to the loaded bytes")
		return tx.CheckCovenant()
	}))
	after, err := im.Fingerprint(ctx)
	require.NoError(t, err)
	require.Equal(t, before, after, "reading methods writes nothing")

	// A field map that is not a method's: checksums fine, encoding broken.
	broken := encodeObject(map[string]any{
		"data":  "d",
		"greet": lazyMethod{enc: []byte{tagMethod, tagString, 1, 'x'}},
	}, 0)
	rawPut(t, im, objKey(oid), broken)
	err = im.View(ctx, func(tx *Tx) error { _, err := tx.Object(oid); return err })
	var ce *CorruptError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "greet", ce.Slot)
	require.Equal(t, oid, ce.OID)

	truncated := encodeObject(map[string]any{"greet": lazyMethod{enc: encodeValue(nil, installed)[:20]}}, 0)
	rawPut(t, im, objKey(oid), truncated)
	err = im.View(ctx, func(tx *Tx) error { _, err := tx.Object(oid); return err })
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "greet", ce.Slot)
}

// skip must accept exactly what value accepts, for every kind of value.
func TestSkipMatchesValue(t *testing.T) {
	vals := []any{nil, true, false, int64(-5), 3.5, "s", []byte{1, 2}, []any{"a", int64(1), []any{}},
		map[string]any{"k": map[string]any{"n": nil}}, Ref{OID: 9}, Primitive{Name: "p"}, BlobRef{ID: "ab", Size: 3},
		Method{Selector: "m", Version: 2, Source: "src"}}
	for _, v := range vals {
		enc := encodeValue(nil, v)
		d := decoder{b: enc}
		require.NoError(t, d.skip(), "%#v", v)
		require.Empty(t, d.b, "%#v", v)
		for cut := range len(enc) {
			d1, d2 := decoder{b: enc[:cut]}, decoder{b: enc[:cut]}
			_, verr := d1.value()
			serr := d2.skip()
			if verr != nil {
				require.Error(t, serr, "%#v cut at %d: value fails, skip must too", v, cut)
			}
		}
	}
}
