package uvm

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

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
	rawPut(t, im, keyFormat, []byte{imageLayout + 1})
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

// Methods are read with their part when first needed and kept encoded
// until used: the object must read, run and re-encode exactly as if
// decoded at once, and a method whose bytes pass the checksums but do not
// decode must still be reported when the object loads, naming the slot.
func TestMethodSlotsDecodeOnUse(t *testing.T) {
	ctx := context.Background()
	im := memImg(t)
	var oid OID
	var installed Method
	var err error
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
		require.Nil(t, o.slots["greet"], "its part is read when needed")
		require.True(t, o.IsBehaviour("greet"))
		require.IsType(t, lazyMethod{}, o.slots["greet"], "still encoded after load")
		f, err := tx.Lookup(o, "greet")
		require.NoError(t, err)
		require.Equal(t, installed, f.Value, "Lookup decodes it")
		v, ok := o.Get("greet")
		require.True(t, ok)
		require.Equal(t, installed, v)
		o.Slots() // every part read
		data, meth := encodeParts(o.slots, 0)
		require.Equal(t, o.orig, data, "a decoded method re-encodes to the loaded bytes")
		require.Equal(t, o.origM, meth, "a decoded method re-encodes to the loaded bytes")
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

// rawVersion returns the Badger version of a key (0 if absent).
func rawVersion(t *testing.T, im *Image, key []byte) uint64 {
	t.Helper()
	var v uint64
	require.NoError(t, im.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		v = item.Version()
		return nil
	}))
	return v
}

// An object's methods live apart from its data: changing its data
// does not rewrite them, and they come and go with the object.
func TestMethodsPart(t *testing.T) {
	ctx := context.Background()
	im := memImg(t)
	var oid OID
	require.NoError(t, im.Update(ctx, func(tx *Tx) error {
		o, _ := tx.New()
		oid = o.OID()
		o.Set("n", 1)
		_, err := tx.InstallMethod(o, Method{Selector: "greet", Source: "package m"})
		return err
	}))
	mv := rawVersion(t, im, methKey(oid, bucketOf("greet")))
	require.NotZero(t, mv, "the methods part exists")

	require.NoError(t, im.Update(ctx, func(tx *Tx) error {
		o, err := tx.Object(oid)
		if err != nil {
			return err
		}
		return o.Set("n", 2)
	}))
	require.Equal(t, mv, rawVersion(t, im, methKey(oid, bucketOf("greet"))), "a data change leaves the methods part alone")

	require.NoError(t, im.View(ctx, func(tx *Tx) error {
		o, err := tx.Object(oid)
		require.NoError(t, err)
		require.Equal(t, []string{"greet", "n"}, o.Slots(), "the marker is not a slot")
		n, _ := o.Get("n")
		require.Equal(t, int64(2), n)
		m, _ := o.Get("greet")
		require.Equal(t, "package m", m.(Method).Source)
		return nil
	}))

	// The last method deleted: the part goes.
	require.NoError(t, im.Update(ctx, func(tx *Tx) error {
		o, _ := tx.Object(oid)
		return o.Delete("greet")
	}))
	require.Zero(t, rawVersion(t, im, methKey(oid, bucketOf("greet"))))

	// The object deleted: both parts go.
	require.NoError(t, im.Update(ctx, func(tx *Tx) error {
		o, _ := tx.Object(oid)
		_, err := tx.InstallMethod(o, Method{Selector: "again", Source: "package m"})
		return err
	}))
	require.NotZero(t, rawVersion(t, im, methKey(oid, bucketOf("again"))))
	require.NoError(t, im.Update(ctx, func(tx *Tx) error {
		o, _ := tx.Object(oid)
		return tx.Delete(o)
	}))
	require.Zero(t, rawVersion(t, im, objKey(oid)))
	require.Zero(t, rawVersion(t, im, methKey(oid, bucketOf("again"))))
}

func TestMissingMethodsPartIsCorruption(t *testing.T) {
	ctx := context.Background()
	im := memImg(t)
	var oid OID
	require.NoError(t, im.Update(ctx, func(tx *Tx) error {
		o, _ := tx.New()
		oid = o.OID()
		_, err := tx.InstallMethod(o, Method{Selector: "greet", Source: "package m"})
		return err
	}))
	require.NoError(t, im.db.Update(func(txn *badger.Txn) error { return txn.Delete(methKey(oid, bucketOf("greet"))) }))
	// Found when the part is read: by the call that needs it, or by the
	// transaction when that call returns no error.
	err := im.View(ctx, func(tx *Tx) error {
		o, err := tx.Object(oid)
		if err != nil {
			return err
		}
		_, err = tx.Lookup(o, "greet")
		return err
	})
	var ce *CorruptError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, oid, ce.OID)
	require.Contains(t, ce.Error(), "methods part of the object is missing")
	err = im.View(ctx, func(tx *Tx) error {
		o, err := tx.Object(oid)
		if err != nil {
			return err
		}
		_, ok := o.Get("greet")
		require.False(t, ok)
		return nil
	})
	require.ErrorAs(t, err, &ce)
	require.Equal(t, oid, ce.OID)
	require.Contains(t, ce.Error(), "methods part of the object is missing")
}

// Objects written by layout 1 (methods among the data) read as they are,
// stay as they are until changed, and move to layout 2 when written.
func TestLayout1Objects(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	im, err := Open(dir, Options{NoSync: true})
	require.NoError(t, err)
	var oid OID
	require.NoError(t, im.Update(ctx, func(tx *Tx) error {
		o, err := tx.New()
		oid = o.OID()
		return err
	}))
	m := Method{Selector: "greet", Version: 1, Source: "package m", Created: time.Unix(0, 42).UTC()}
	legacy := encodeObject(map[string]any{"list": []any{"a"}, "greet": m}, 0)
	rawPut(t, im, objKey(oid), legacy)
	rawPut(t, im, keyFormat, []byte{1})
	require.NoError(t, im.Close())

	im, err = Open(dir, Options{NoSync: true})
	require.NoError(t, err)
	defer im.Close()
	require.NoError(t, im.View(ctx, func(tx *Tx) error {
		raw, err := tx.get(keyFormat)
		require.NoError(t, err)
		require.Equal(t, []byte{imageLayout}, raw, "the image is marked with the current layout")
		return nil
	}))
	// Read, and a container exposed but not changed: nothing written.
	before := rawVersion(t, im, objKey(oid))
	require.NoError(t, im.Update(ctx, func(tx *Tx) error {
		o, err := tx.Object(oid)
		if err != nil {
			return err
		}
		f, err := tx.Lookup(o, "greet")
		require.NoError(t, err)
		require.Equal(t, m, f.Value)
		_, _ = o.Get("list")
		return nil
	}))
	require.Equal(t, before, rawVersion(t, im, objKey(oid)))
	require.Zero(t, rawVersion(t, im, methKey(oid, bucketOf("greet"))))

	// Changed without a mark: still the covenant.
	err = im.Update(ctx, func(tx *Tx) error {
		o, _ := tx.Object(oid)
		l, _ := o.Get("list")
		l.([]any)[0] = "b"
		return nil
	})
	require.ErrorIs(t, err, ErrCovenant)

	// Changed and marked: written in layout 2.
	require.NoError(t, im.Update(ctx, func(tx *Tx) error {
		o, _ := tx.Object(oid)
		return o.Set("n", 1)
	}))
	require.NotZero(t, rawVersion(t, im, methKey(oid, bucketOf("greet"))))
	require.NoError(t, im.View(ctx, func(tx *Tx) error {
		o, err := tx.Object(oid)
		require.NoError(t, err)
		require.False(t, o.legacy)
		require.Equal(t, []string{"greet", "list", "n"}, o.Slots())
		g, _ := o.Get("greet")
		require.Equal(t, m, g)
		return nil
	}))
}

// memImg opens an in-memory image closed with the test.
func memImg(t *testing.T) *Image {
	t.Helper()
	im, err := Open("", Options{InMemory: true})
	require.NoError(t, err)
	t.Cleanup(func() { im.Close() })
	return im
}

// Installing a method rewrites only its bucket: the data and the other
// buckets stay as they were.
func TestInstallRewritesOneBucket(t *testing.T) {
	ctx := context.Background()
	im := memImg(t)
	var oid OID
	require.NoError(t, im.Update(ctx, func(tx *Tx) error {
		o, _ := tx.New()
		oid = o.OID()
		o.Set("n", 1)
		for i := range 64 {
			if _, err := tx.InstallMethod(o, Method{Selector: fmt.Sprintf("m%d", i), Source: "package m"}); err != nil {
				return err
			}
		}
		return nil
	}))
	versions := func() (data uint64, buckets [methodBuckets]uint64) {
		data = rawVersion(t, im, objKey(oid))
		for b := range buckets {
			buckets[b] = rawVersion(t, im, methKey(oid, b))
			require.NotZero(t, buckets[b], "64 selectors fill all %d buckets", methodBuckets)
		}
		return data, buckets
	}
	d0, b0 := versions()
	source := func() string {
		var src string
		require.NoError(t, im.View(ctx, func(tx *Tx) error {
			o, err := tx.Object(oid)
			require.NoError(t, err)
			m, _ := o.Get("m7")
			src = m.(Method).Source
			return nil
		}))
		return src
	}
	require.Equal(t, "package m", source(), "loaded once: its buckets are cached")
	require.NoError(t, im.Update(ctx, func(tx *Tx) error {
		o, _ := tx.Object(oid)
		_, err := tx.InstallMethod(o, Method{Selector: "m7", Source: "package m // v2"})
		return err
	}))
	require.Equal(t, "package m // v2", source(), "the cache never serves a replaced bucket")
	d1, b1 := versions()
	require.Equal(t, d0, d1, "the data part is untouched")
	for b := range b0 {
		if b == bucketOf("m7") {
			require.NotEqual(t, b0[b], b1[b], "m7's bucket is rewritten")
		} else {
			require.Equal(t, b0[b], b1[b], "bucket %d is untouched", b)
		}
	}
	require.NoError(t, im.View(ctx, func(tx *Tx) error {
		o, err := tx.Object(oid)
		require.NoError(t, err)
		require.Len(t, o.Slots(), 65)
		m, _ := o.Get("m7")
		require.Equal(t, 2, m.(Method).Version)
		return nil
	}))
}
