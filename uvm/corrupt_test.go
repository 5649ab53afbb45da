package uvm_test

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/require"
)

// damageOpts are the options of the images these tests damage: the
// smallest memtable Badger accepts, no fsync.
var damageOpts = uvm.Options{NoSync: true, MemTableSize: 8 << 20}

// writeObjects fills an image with n objects, each with a few slots (one
// a 200-byte string), registered in the list slot "all" of a root object
// "registry". It returns the OIDs, the registry's first.
func writeObjects(t *testing.T, im *uvm.Image, n int) []uvm.OID {
	t.Helper()
	var oids []uvm.OID
	uvmtest.Update(t, im, func(tx *uvm.Tx) error {
		reg, err := tx.New()
		require.NoError(t, err)
		oids = append(oids, reg.OID())
		var all []any
		for i := range n {
			o, err := tx.New()
			require.NoError(t, err)
			require.NoError(t, o.Set("n", i))
			require.NoError(t, o.Set("text", strings.Repeat(fmt.Sprint(i%10), 200)))
			require.NoError(t, o.SetParents(reg))
			oids = append(oids, o.OID())
			all = append(all, o.Ref())
		}
		require.NoError(t, reg.Set("all", all))
		return tx.SetRoot("registry", reg)
	})
	return oids
}

// closedImage writes n objects to a new on-disk image and closes it, which
// flushes them into a table. It returns the directory and the OIDs.
func closedImage(t *testing.T, n int) (string, []uvm.OID) {
	t.Helper()
	dir := t.TempDir()
	im := uvmtest.Disk(t, dir, damageOpts)
	oids := writeObjects(t, im, n)
	require.NoError(t, im.Close())
	return dir, oids
}

// only returns the one file of dir that matches pattern.
func only(t *testing.T, dir, pattern string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, pattern))
	require.NoError(t, err)
	require.Len(t, files, 1, "files %s in %s", pattern, dir)
	return files[0]
}

// flip inverts the byte at off in the file (from its end when off < 0) and
// returns the offset flipped.
func flip(t *testing.T, path string, off int64) int64 {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	if off < 0 {
		st, err := f.Stat()
		require.NoError(t, err)
		off += st.Size()
	}
	b := make([]byte, 1)
	_, err = f.ReadAt(b, off)
	require.NoError(t, err)
	b[0] ^= 0xff
	_, err = f.WriteAt(b, off)
	require.NoError(t, err)
	return off
}

// requireCorruptImage checks that err is a *CorruptImageError naming file.
func requireCorruptImage(t *testing.T, err error, file, reason string) *uvm.CorruptImageError {
	t.Helper()
	require.ErrorIs(t, err, uvm.ErrCorruptImage)
	var ce *uvm.CorruptImageError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, file, ce.File)
	require.Contains(t, err.Error(), "uvm: corrupt image: "+file)
	require.Contains(t, ce.Reason, reason)
	return ce
}

// tableTail returns the offsets, in a table file, of its index length and
// index checksum length fields (see the table layout in files.go).
func tableTail(t *testing.T, path string) (idxLenAt, chkLenAt int64) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	chkLenAt = int64(len(data) - 4)
	chkLen := int64(binary.BigEndian.Uint32(data[chkLenAt:]))
	return chkLenAt - chkLen - 4, chkLenAt
}

func TestOpenRefusesADamagedTable(t *testing.T) {
	cases := []struct {
		name   string
		where  func(t *testing.T, path string) int64
		reason string
	}{
		{"a block", func(t *testing.T, path string) int64 { return 1000 }, "fails its checksum"},
		{"the first block's first byte", func(t *testing.T, path string) int64 { return 0 }, "fails its checksum"},
		{"the index", func(t *testing.T, path string) int64 { i, _ := tableTail(t, path); return i - 20 }, "index is damaged"},
		// Badger reads these lengths before any checksum, and past the
		// file's start they panicked a goroutine of badger.Open.
		{"the index length", func(t *testing.T, path string) int64 { i, _ := tableTail(t, path); return i }, "index"},
		{"the checksum length", func(t *testing.T, path string) int64 { _, c := tableTail(t, path); return c }, "index"},
		{"the last byte", func(t *testing.T, path string) int64 { return -1 }, "index"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := closedImage(t, 300)
			sst := only(t, dir, "*.sst")
			flip(t, sst, tc.where(t, sst))
			_, err := uvm.Open(dir, damageOpts)
			requireCorruptImage(t, err, sst, tc.reason)
		})
	}
}

func TestOpenRefusesOtherDamagedFiles(t *testing.T) {
	t.Run("value log header", func(t *testing.T) {
		// Badger's own words for this were only "Invalid datakey id".
		dir, _ := closedImage(t, 10)
		vlog := only(t, dir, "*.vlog")
		flip(t, vlog, 3)
		_, err := uvm.Open(dir, damageOpts)
		ce := requireCorruptImage(t, err, vlog, "encryption key")
		require.Equal(t, int64(0), ce.Offset)
	})

	big := func(b byte) []byte { return []byte(strings.Repeat(string(rune('a'+b)), 1200<<10)) } // over 1 MiB: kept in the value log
	t.Run("value log entry followed by good ones", func(t *testing.T) {
		dir := t.TempDir()
		im := uvmtest.Disk(t, dir, damageOpts)
		for i := range byte(2) {
			uvmtest.Update(t, im, func(tx *uvm.Tx) error { return tx.PutRecord("big", fmt.Sprint(i), big(i)) })
		}
		require.NoError(t, im.Close())
		vlog := only(t, dir, "*.vlog")
		flip(t, vlog, 5000) // inside the first record's value
		_, err := uvm.Open(dir, damageOpts)
		ce := requireCorruptImage(t, err, vlog, "would be lost")
		require.Equal(t, int64(20), ce.Offset, "the first entry, just after the header")
	})

	t.Run("value log's last entry", func(t *testing.T) {
		// Damage in the last entry of the newest value log looks like a
		// write a crash tore: Open lets Badger drop it, and reading the
		// value says it is damaged.
		dir := t.TempDir()
		im := uvmtest.Disk(t, dir, damageOpts)
		uvmtest.Update(t, im, func(tx *uvm.Tx) error { return tx.PutRecord("big", "0", big(0)) })
		require.NoError(t, im.Close())
		flip(t, only(t, dir, "*.vlog"), 5000)
		im = uvmtest.Disk(t, dir, damageOpts)
		err := im.View(t.Context(), func(tx *uvm.Tx) error { _, err := tx.GetRecord("big", "0"); return err })
		require.ErrorIs(t, err, uvm.ErrCorrupt)
		require.ErrorIs(t, err, uvm.ErrCorruptImage, "a damaged value is damage to the image")
	})

	t.Run("memtable log entry followed by good ones", func(t *testing.T) {
		// Badger replays a memtable log up to its first bad entry and
		// silently drops the rest. Copy an open image's files (as a crash
		// would leave them, the memtable not yet flushed), then damage the
		// first commit.
		dir := t.TempDir()
		im := uvmtest.Disk(t, dir, damageOpts)
		writeObjects(t, im, 3)
		writeObjects(t, im, 3)
		copyDir := t.TempDir()
		copyFiles(t, dir, copyDir)
		mem := only(t, copyDir, "*.mem")
		flip(t, mem, 30) // inside the first entry
		_, err := uvm.Open(copyDir, damageOpts)
		requireCorruptImage(t, err, mem, "would be lost")
	})

	t.Run("KEYREGISTRY", func(t *testing.T) {
		dir, _ := closedImage(t, 10)
		registry := filepath.Join(dir, "KEYREGISTRY")
		flip(t, registry, -1)
		_, err := uvm.Open(dir, damageOpts)
		requireCorruptImage(t, err, registry, "Encryption key mismatch")
	})

	t.Run("MANIFEST", func(t *testing.T) {
		dir, _ := closedImage(t, 10)
		manifest := filepath.Join(dir, "MANIFEST")
		flip(t, manifest, -3)
		_, err := uvm.Open(dir, damageOpts)
		requireCorruptImage(t, err, manifest, "checksum")
	})
}

func TestOpenChecksOnlyUnlockedImages(t *testing.T) {
	// The files of an image open elsewhere change under the check: a
	// second Open says the image is locked, whatever the files hold.
	dir := t.TempDir()
	im := uvmtest.Disk(t, dir, damageOpts)
	writeObjects(t, im, 10)
	_, err := uvm.Open(dir, damageOpts)
	require.ErrorIs(t, err, uvm.ErrLocked)
	_, err = uvm.Salvage(t.Context(), dir, t.TempDir())
	require.ErrorIs(t, err, uvm.ErrLocked)
}

// copyFiles copies the regular files of dir into to. Of a value log,
// which an open image preallocates to 2 GiB, only the header is copied:
// the images these tests copy keep no value in it.
func copyFiles(t *testing.T, dir, to string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		src, err := os.Open(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		dst, err := os.Create(filepath.Join(to, e.Name()))
		require.NoError(t, err)
		var r io.Reader = src
		if strings.HasSuffix(e.Name(), ".vlog") {
			r = io.LimitReader(src, 20)
		}
		_, err = io.Copy(dst, r)
		require.NoError(t, err)
		require.NoError(t, src.Close())
		require.NoError(t, dst.Close())
	}
}

func TestRecordKeysListDamagedRecords(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{})
	uvmtest.Update(t, im, func(tx *uvm.Tx) error {
		for _, k := range []string{"a", "b", "c", "other"} {
			require.NoError(t, tx.PutRecord("ns", k, []byte(k)))
		}
		return nil
	})
	require.NoError(t, uvm.DamageRecord(im, "ns", "b"))
	uvmtest.View(t, im, func(tx *uvm.Tx) error {
		err := tx.ScanRecords("ns", "", func(string, []byte) error { return nil })
		require.ErrorIs(t, err, uvm.ErrCorrupt, "a scan stops at the damaged record")
		var keys []string
		require.NoError(t, tx.RecordKeys("ns", "", func(k string) error { keys = append(keys, k); return nil }))
		require.Equal(t, []string{"a", "b", "c", "other"}, keys)
		keys = nil
		require.NoError(t, tx.RecordKeys("ns", "o", func(k string) error { keys = append(keys, k); return nil }))
		require.Equal(t, []string{"other"}, keys)
		_, err = tx.GetRecord("ns", "b")
		require.ErrorIs(t, err, uvm.ErrCorrupt)
		return nil
	})
}
