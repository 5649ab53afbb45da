package uvm

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/stretchr/testify/require"
)

// The fuzz targets feed junk to everything that parses bytes read from
// disk: values, objects and their method parts, method versions, backup
// streams, and Badger's table and log files as Open's check and Salvage
// read them. None may panic; each answers junk with its kind of error.

// sampleSlots holds a value of every kind a slot stores.
func sampleSlots() map[string]any {
	return map[string]any{
		"nil": nil, "yes": true, "no": false, "int": int64(-42), "float": 3.5,
		"text": "héllo", "bytes": []byte{0, 1, 2},
		"list":    []any{int64(1), "two", []any{nil}},
		"map":     map[string]any{"ref": Ref{OID: 9}, "prim": Primitive{Name: "prim"}},
		"blob":    BlobRef{ID: "abc", Size: 3},
		"parents": []any{Ref{OID: 1 << 40}},
		"greet":   Method{Selector: "greet", Version: 2, Source: "func greet() {}", Persona: "BRICK", Created: time.Unix(1, 0).UTC()},
		"hello":   Method{Selector: "hello", Version: 1, Source: "// hello"},
	}
}

// sampleParts returns the encodings of sampleSlots: in layout 2 (a data
// part and method buckets), and in layout 1 (all in one).
func sampleParts() (data []byte, meth [methodBuckets][]byte, legacy []byte) {
	data, meth = encodeParts(sampleSlots(), 0)
	return data, meth, encodeObject(sampleSlots(), 0)
}

func FuzzValue(f *testing.F) {
	for _, v := range sampleSlots() {
		f.Add(encodeValue(nil, v))
	}
	f.Add([]byte{tagList, 200})
	f.Add([]byte{tagMethod, tagList, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		d := decoder{b: b}
		v, err := d.value()
		s := decoder{b: b}
		serr := s.skip()
		require.Equal(t, err == nil, serr == nil, "value and skip agree (value: %v, skip: %v)", err, serr)
		if err != nil {
			return
		}
		require.Equal(t, len(d.b), len(s.b), "value and skip read as far")
		enc := encodeValue(nil, v)
		d2 := decoder{b: enc}
		v2, err := d2.value()
		require.NoError(t, err)
		require.Empty(t, d2.b)
		require.Equal(t, enc, encodeValue(nil, v2), "decoding and encoding again is a fixpoint")
	})
}

// withChecksums frames b as an object part whose slot checksums all
// hold where its framing can be read, so that the fuzzer reaches the
// decoding behind the checksums.
func withChecksums(b []byte) []byte {
	if len(b) >= 5 && b[0] == formatVersion {
		b = b[5:]
	}
	p := slices.Clone(b)
	d := decoder{b: p}
	if n, err := d.uvarint(); err == nil {
		for range min(n, uint64(len(p))) {
			name, err := d.string()
			if err != nil {
				break
			}
			size, err := d.uvarint()
			if err != nil || uint64(len(d.b)) < 4 || size > uint64(len(d.b))-4 {
				break
			}
			binary.LittleEndian.PutUint32(d.b, crc32.Update(crc32.Checksum([]byte(name), castagnoli), castagnoli, d.b[4:4+size]))
			d.b = d.b[4+size:]
		}
	}
	return frame(p)
}

// logWithChecksums rewrites the checksum of every log entry whose header
// can be read, for the same reason.
func logWithChecksums(b []byte) []byte {
	b = slices.Clone(b)
	off := logHeaderSize
	for off < len(b) {
		n, ok := entryEnd(b[off:])
		if !ok || n > len(b)-off || n < 4 {
			break
		}
		binary.BigEndian.PutUint32(b[off+n-4:], crc32.Checksum(b[off:off+n-4], castagnoli))
		off += n
	}
	return b
}

func FuzzObject(f *testing.F) {
	data, meth, legacy := sampleParts()
	f.Add(data)
	f.Add(legacy)
	for _, m := range meth {
		if m != nil {
			f.Add(m)
		}
	}
	f.Add(frame([]byte{1, 0}))
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzObject(t, b)
		fuzzObject(t, withChecksums(b))
	})
}

func fuzzObject(t *testing.T, b []byte) {
	key := objKey(7)
	slots, err := decodeObject(7, key, b)
	got, lost, why := salvageSlots(key, b)
	if err != nil {
		require.ErrorIs(t, err, ErrCorrupt)
		var ce *CorruptError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, OID(7), ce.OID)
		require.Equal(t, "o/7", ce.Key)
		return
	}
	require.Empty(t, lost, "salvage loses nothing of an intact object")
	require.Empty(t, why)
	require.Equal(t, slices.Sorted(mapKeysOf(slots)), slices.Sorted(mapKeysOf(got)), "salvage reads the same slots")
	for n, v := range slots {
		if l, ok := v.(lazyMethod); ok {
			m, err := l.decode()
			require.NoError(t, err, "a method checked at load decodes")
			slots[n] = m
		}
	}
	enc := encodeObject(slots, 0)
	again, err := decodeObject(7, key, enc)
	require.NoError(t, err)
	require.Equal(t, enc, encodeObject(again, 0), "decoding and encoding again is a fixpoint")
}

func mapKeysOf(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// FuzzLoadObject stores junk as an object's data part, one method bucket
// and one method version, and reads them through the Tx API.
func FuzzLoadObject(f *testing.F) {
	data, meth, legacy := sampleParts()
	for b, m := range meth {
		if m != nil {
			f.Add(data, m, byte(b))
			f.Add(legacy, m, byte(b))
		}
	}
	f.Add(data, frame(encodeValue(nil, sampleSlots()["greet"])), byte(0))
	im, err := Open("", Options{InMemory: true})
	require.NoError(f, err)
	f.Cleanup(func() { im.Close() })
	const oid = OID(1)
	hkey := historyKey(oid, "greet", 2)
	f.Fuzz(func(t *testing.T, data, part []byte, bucket byte) {
		if bucket&0x80 != 0 {
			data, part = withChecksums(data), withChecksums(part)
		}
		b := int(bucket % methodBuckets)
		require.NoError(t, im.db.Update(func(txn *badger.Txn) error {
			for i := range methodBuckets {
				if err := txn.Delete(methKey(oid, i)); err != nil {
					return err
				}
			}
			if err := txn.Set(objKey(oid), data); err != nil {
				return err
			}
			if err := txn.Set(hkey, part); err != nil {
				return err
			}
			return txn.Set(methKey(oid, b), part)
		}))
		ctx := context.Background()
		err := im.View(ctx, func(tx *Tx) error {
			o, err := tx.Object(oid)
			if err != nil {
				return err
			}
			for _, n := range o.Slots() {
				if _, err := tx.Lookup(o, n); err != nil && !errors.Is(err, ErrNotFound) {
					return err
				}
				o.Get(n)
			}
			o.Parents()
			_, err = tx.MethodVersion(o, "greet", 2)
			return err
		})
		if err != nil && !errors.Is(err, ErrNotFound) {
			require.ErrorIs(t, err, ErrCorrupt)
			var ce *CorruptError
			require.ErrorAs(t, err, &ce)
		}
	})
}

func FuzzBackup(f *testing.F) {
	im, err := Open("", Options{InMemory: true})
	require.NoError(f, err)
	defer im.Close()
	ctx := context.Background()
	require.NoError(f, im.Update(ctx, func(tx *Tx) error {
		o, err := tx.New()
		if err != nil {
			return err
		}
		for n, v := range sampleSlots() {
			if err := o.Set(n, v); err != nil {
				return err
			}
		}
		return tx.SetRoot("genesis", o)
	}))
	var buf bytes.Buffer
	require.NoError(f, im.Backup(ctx, &buf))
	f.Add(buf.Bytes())
	f.Add(backupMagic)
	f.Add(append(slices.Clone(backupMagic), 0xff, 0xff, 0xff, 0xff, 0x07))
	f.Fuzz(func(t *testing.T, b []byte) {
		n := 0
		err := scanBackup(context.Background(), bytes.NewReader(b), func(k, v []byte) error { n++; return nil })
		if err != nil {
			require.ErrorIs(t, err, ErrBadBackup)
		}
	})
}

// imageFiles writes sample objects to an on-disk image and returns its
// table file and, from a copy taken while it was open, its memtable log
// (trailing zeros trimmed).
func imageFiles(f *testing.F) (sst, mem []byte) {
	dir := f.TempDir()
	im, err := Open(dir, Options{NoSync: true, MemTableSize: 8 << 20})
	require.NoError(f, err)
	ctx := context.Background()
	for i := range 20 {
		require.NoError(f, im.Update(ctx, func(tx *Tx) error {
			o, err := tx.New()
			if err != nil {
				return err
			}
			for n, v := range sampleSlots() {
				if err := o.Set(n, v); err != nil {
					return err
				}
			}
			if err := o.Set("i", i); err != nil {
				return err
			}
			return tx.Delete(o) // a deletion marker too
		}))
	}
	mems, err := filepath.Glob(filepath.Join(dir, "*.mem"))
	require.NoError(f, err)
	require.NotEmpty(f, mems)
	mem, err = os.ReadFile(mems[0])
	require.NoError(f, err)
	end := len(mem)
	for end > 0 && mem[end-1] == 0 {
		end--
	}
	mem = mem[:end]
	require.NoError(f, im.Close())
	ssts, err := filepath.Glob(filepath.Join(dir, "*.sst"))
	require.NoError(f, err)
	require.NotEmpty(f, ssts)
	sst, err = os.ReadFile(ssts[0])
	require.NoError(f, err)
	return sst, mem
}

func FuzzTableFile(f *testing.F) {
	sst, _ := imageFiles(f)
	f.Add(sst)
	if index, _, why := tableIndex(sst); why == "" {
		f.Add(index)
		if blocks, why := indexBlocks(index, len(sst)); why == "" {
			b := blocks[0]
			f.Add(sst[b.off : b.off+b.len])
			if c, ok := checkedBlock(sst[b.off : b.off+b.len]); ok {
				f.Add(c)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := checkTable("t.sst", b); err != nil {
			require.ErrorIs(t, err, ErrCorruptImage)
			require.Equal(t, "t.sst", err.File)
		}
		// Each part alone, as if the checksums above it held.
		indexBlocks(b, len(b))
		var zd zstdDecoder
		tableBlock(b, &zd)
		zd.close()
		_ = blockEntries(b, func(key, val []byte) error {
			splitKey(key)
			if vs, ok := decodeValueStruct(val); ok {
				decodeValuePointer(vs.value)
			}
			return nil
		})
		s := &salvager{ctx: context.Background(), dir: "", rep: &SalvageReport{}, best: map[string]*kv{}}
		s.readTable("t.sst", b)
		for _, d := range s.rep.Damaged {
			require.Equal(t, "t.sst", d.File)
		}
	})
}

func FuzzLogFile(f *testing.F) {
	_, mem := imageFiles(f)
	f.Add(mem)
	f.Add(mem[:len(mem)/2])
	f.Add(make([]byte, logHeaderSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzLog(t, b)
		fuzzLog(t, logWithChecksums(b))
	})
}

func fuzzLog(t *testing.T, b []byte) {
	var entries []int
	end := logHeaderSize
	_, _, errOld := scanLog("l.mem", newFileWindow(bytes.NewReader(b), int64(len(b))), false, 0, func(off int, e logEntry) {
		require.Equal(t, end, off, "entries lie end to end")
		end += e.size
		entries = append(entries, off)
	})
	_, _, errNew := scanLog("l.mem", newFileWindow(bytes.NewReader(b), int64(len(b))), true, 0, nil)
	for _, err := range []error{errOld, errNew} {
		if err != nil {
			require.ErrorIs(t, err, ErrCorruptImage)
		}
	}
	if errOld == nil {
		require.NoError(t, errNew, "what passes in an older log passes in the newest")
	}
	readLogEntry(b)
	s := &salvager{ctx: context.Background(), rep: &SalvageReport{}, best: map[string]*kv{}}
	require.NoError(t, s.readMemLog("l.mem", newFileWindow(bytes.NewReader(b), int64(len(b))), true))
	for k := range s.best {
		require.False(t, strings.HasPrefix(k, badgerPrefix), "Badger's own keys are not copied")
	}
}
