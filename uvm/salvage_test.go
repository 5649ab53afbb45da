package uvm_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// salvage salvages from into a new directory, logs the report, and opens
// the result (closed with the test).
func salvage(t *testing.T, from string) (*uvm.Image, uvm.SalvageReport) {
	t.Helper()
	to := filepath.Join(t.TempDir(), "salvaged")
	rep, err := uvm.Salvage(t.Context(), from, to)
	require.NoError(t, err)
	t.Logf("salvage report:\n%s", rep)
	return uvmtest.Disk(t, to, uvm.Options{}), rep
}

// checkObjects checks that every object writeObjects made is in im with
// its slots, or absent; it returns the absent OIDs.
func checkObjects(t *testing.T, im *uvm.Image, oids []uvm.OID) []uvm.OID {
	t.Helper()
	var absent []uvm.OID
	uvmtest.View(t, im, func(tx *uvm.Tx) error {
		reg, err := tx.Root("registry")
		require.NoError(t, err)
		require.Equal(t, oids[0], reg.OID())
		for i, oid := range oids[1:] {
			o, err := tx.Object(oid)
			if err != nil {
				require.ErrorIs(t, err, uvm.ErrNotFound)
				absent = append(absent, oid)
				continue
			}
			n, _ := o.Get("n")
			text, _ := o.Get("text")
			require.Equal(t, int64(i), n, "object %d", oid)
			require.Equal(t, strings.Repeat(fmt.Sprint(i%10), 200), text, "object %d", oid)
			require.Equal(t, []uvm.OID{reg.OID()}, o.Parents(), "object %d", oid)
			v, err := tx.Send(t.Context(), o, "all")
			require.NoError(t, err, "the registry is still its parent")
			require.Len(t, v, len(oids)-1)
		}
		return nil
	})
	return absent
}

func lossOIDs(l []uvm.Loss, kind string) []uvm.OID {
	var out []uvm.OID
	for _, x := range l {
		if x.Kind == kind {
			out = append(out, x.OID)
		}
	}
	return out
}

func TestSalvageCopiesAnIntactImage(t *testing.T) {
	dir := t.TempDir()
	im := uvmtest.Disk(t, dir, damageOpts)
	oids := writeObjects(t, im, 50)
	blob := bytes.Repeat([]byte("blob bytes "), 250_000) // 2.75 MB: three chunks, each over 64 KiB
	ref, err := im.PutBlob(t.Context(), bytes.NewReader(blob))
	require.NoError(t, err)
	uvmtest.Update(t, im, func(tx *uvm.Tx) error {
		o, err := tx.Object(oids[1])
		require.NoError(t, err)
		for _, src := range []string{"// v1", "// v2"} {
			_, err := tx.InstallMethod(o, uvm.Method{Selector: "greet", Source: src})
			require.NoError(t, err)
		}
		_, err = tx.RevertMethod(o, "greet", 1)
		require.NoError(t, err)
		require.NoError(t, o.Set("adapter", ref))
		return tx.PutRecord("notes", "first", []byte("kept"))
	})
	uvmtest.Update(t, im, func(tx *uvm.Tx) error {
		return tx.PutRecord("notes", "long", bytes.Repeat([]byte{7}, 1100<<10)) // over 1 MiB: in the value log
	})
	want := uvmtest.Fingerprint(t, im)
	require.NoError(t, im.Close())

	got, rep := salvage(t, dir)
	require.True(t, rep.Complete(), "nothing damaged, lost or stale")
	require.Empty(t, rep.Missing)
	assert.Equal(t, 51, rep.Objects)
	assert.Equal(t, 2, rep.MethodVersions)
	assert.Equal(t, 2, rep.Records)
	assert.Equal(t, 1, rep.Blobs)
	assert.Equal(t, 1, rep.Roots)
	require.Equal(t, want, uvmtest.Fingerprint(t, got), "the copy holds the same keys and values")
	uvmtest.View(t, got, func(tx *uvm.Tx) error {
		var buf bytes.Buffer
		require.NoError(t, tx.ReadBlob(ref, &buf))
		require.Equal(t, blob, buf.Bytes())
		return nil
	})
	uvmtest.Update(t, got, func(tx *uvm.Tx) error {
		o, err := tx.New()
		require.NoError(t, err)
		require.Greater(t, o.OID(), oids[len(oids)-1], "new OIDs continue after the copied ones")
		return nil
	})
	uvmtest.Disk(t, dir, damageOpts) // the source is left as it was
}

func TestSalvageADamagedBlock(t *testing.T) {
	dir, oids := closedImage(t, 300)
	sst := only(t, dir, "*.sst")
	st, err := os.Stat(sst)
	require.NoError(t, err)
	flip(t, sst, st.Size()*4/10)
	_, err = uvm.Open(dir, damageOpts)
	require.ErrorIs(t, err, uvm.ErrCorruptImage)

	im, rep := salvage(t, dir)
	absent := checkObjects(t, im, oids)
	require.NotEmpty(t, absent, "the damaged block held objects")
	require.Less(t, len(absent), 40, "only one block's objects are lost")
	require.Len(t, rep.Damaged, 1)
	require.Equal(t, sst, rep.Damaged[0].File)
	require.Contains(t, rep.Damaged[0].Reason, "fails its checksum")
	keys := slices.IndexFunc(rep.Lost, func(l uvm.Loss) bool { return l.Kind == "keys" })
	require.GreaterOrEqual(t, keys, 0, "the lost key range is reported")
	require.Contains(t, rep.Lost[keys].Name, "o/", "the range is named in storage keys")
	require.Equal(t, absent, lossOIDs(rep.Missing, "object"), "every lost object is named: the registry refers to it")
	require.Equal(t, 300-len(absent)+1, rep.Objects)
}

func TestSalvageADamagedTableIndex(t *testing.T) {
	// Without its index, a table's blocks are found by scanning: nothing
	// is lost.
	dir := t.TempDir()
	im := uvmtest.Disk(t, dir, damageOpts)
	oids := writeObjects(t, im, 300)
	want := uvmtest.Fingerprint(t, im)
	require.NoError(t, im.Close())
	sst := only(t, dir, "*.sst")
	idxLenAt, _ := tableTail(t, sst)
	flip(t, sst, idxLenAt-10)
	_, err := uvm.Open(dir, damageOpts)
	require.ErrorIs(t, err, uvm.ErrCorruptImage)

	got, rep := salvage(t, dir)
	require.Empty(t, checkObjects(t, got, oids))
	require.Len(t, rep.Damaged, 1)
	require.Contains(t, rep.Damaged[0].Reason, "index is damaged")
	require.Empty(t, rep.Lost)
	require.Empty(t, rep.Missing)
	require.Equal(t, want, uvmtest.Fingerprint(t, got))
}

func TestSalvageDamagedSlots(t *testing.T) {
	dir := t.TempDir()
	im := uvmtest.Disk(t, dir, damageOpts)
	oids := writeObjects(t, im, 3)
	uvmtest.Update(t, im, func(tx *uvm.Tx) error {
		o, err := tx.Object(oids[2])
		require.NoError(t, err)
		for _, src := range []string{"// v1", "// v2"} {
			_, err := tx.InstallMethod(o, uvm.Method{Selector: "greet", Source: src})
			require.NoError(t, err)
		}
		return nil
	})
	require.NoError(t, uvm.DamageSlot(im, oids[1], "text"))
	require.NoError(t, uvm.DamageSlot(im, oids[2], "greet"))
	err := im.View(t.Context(), func(tx *uvm.Tx) error { _, err := tx.Object(oids[1]); return err })
	require.ErrorIs(t, err, uvm.ErrCorrupt, "the object cannot be loaded")
	require.NoError(t, im.Close())

	got, rep := salvage(t, dir)
	require.Contains(t, rep.Lost, uvm.Loss{Kind: "slot", OID: oids[1], Name: "text", Reason: "fails its checksum"})
	require.Contains(t, rep.Lost, uvm.Loss{Kind: "slot", OID: oids[2], Name: "greet", Reason: "fails its checksum"})
	stale := slices.IndexFunc(rep.Stale, func(l uvm.Loss) bool { return l.Kind == "method" && l.OID == oids[2] && l.Name == "greet" })
	require.GreaterOrEqual(t, stale, 0, "the method restored from its history is reported")
	require.Contains(t, rep.Stale[stale].Reason, "v2")
	uvmtest.View(t, got, func(tx *uvm.Tx) error {
		o, err := tx.Object(oids[1])
		require.NoError(t, err, "the object survives its damaged slot")
		require.False(t, o.Has("text"))
		n, _ := o.Get("n")
		require.Equal(t, int64(0), n)
		o, err = tx.Object(oids[2])
		require.NoError(t, err)
		f, err := tx.Lookup(o, "greet")
		require.NoError(t, err)
		require.Equal(t, "// v2", f.Value.(uvm.Method).Source)
		return nil
	})
}

func TestSalvageADamagedMemtableLog(t *testing.T) {
	// The files of an image not closed (a crash), with the first batch of
	// objects' commit damaged in the memtable log: the later commit is
	// still read.
	dir := t.TempDir()
	im := uvmtest.Disk(t, dir, damageOpts)
	first := writeObjects(t, im, 3)
	second := writeObjects(t, im, 3)
	crashed := t.TempDir()
	copyFiles(t, dir, crashed)
	mem := only(t, crashed, "*.mem")
	data, err := os.ReadFile(mem)
	require.NoError(t, err)
	at := bytes.Index(data, binary.BigEndian.AppendUint64([]byte{'o'}, uint64(first[1])))
	require.Positive(t, at)
	flip(t, mem, int64(at+3))

	got, rep := salvage(t, crashed)
	require.Empty(t, checkObjects(t, got, second), "the later commit is whole")
	uvmtest.View(t, got, func(tx *uvm.Tx) error {
		for _, oid := range first {
			_, err := tx.Object(oid)
			require.ErrorIs(t, err, uvm.ErrNotFound, "the damaged commit is lost whole")
		}
		return nil
	})
	require.Len(t, rep.Damaged, 1)
	require.Equal(t, mem, rep.Damaged[0].File)
	require.Contains(t, rep.Lost, uvm.Loss{Kind: "keys", Name: filepath.Base(mem),
		Reason: fmt.Sprintf("a damaged entry at byte %d: the commit it was part of is lost; the commits after it were read", rep.Damaged[0].Offset)})
}

func TestSalvageRefuses(t *testing.T) {
	dir, _ := closedImage(t, 3)
	_, err := uvm.Salvage(t.Context(), dir, dir)
	require.ErrorContains(t, err, "into itself")
	_, err = uvm.Salvage(t.Context(), filepath.Join(dir, "nowhere"), t.TempDir())
	require.ErrorIs(t, err, os.ErrNotExist)
	full, _ := closedImage(t, 3)
	_, err = uvm.Salvage(t.Context(), dir, full)
	require.ErrorIs(t, err, uvm.ErrNotEmpty)
}

func TestSalvageAnImageWithADamagedManifestOrLogHeader(t *testing.T) {
	cases := []struct{ name, file string }{
		{"MANIFEST", "MANIFEST"},
		{"value log header", "*.vlog"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			im := uvmtest.Disk(t, dir, damageOpts)
			oids := writeObjects(t, im, 100)
			want := uvmtest.Fingerprint(t, im)
			require.NoError(t, im.Close())
			file := only(t, dir, tc.file)
			flip(t, file, 4)
			_, err := uvm.Open(dir, damageOpts)
			require.ErrorIs(t, err, uvm.ErrCorruptImage)

			got, rep := salvage(t, dir)
			require.Empty(t, checkObjects(t, got, oids))
			require.Equal(t, want, uvmtest.Fingerprint(t, got))
			require.Len(t, rep.Damaged, 1)
			require.Equal(t, file, rep.Damaged[0].File)
			require.Empty(t, rep.Lost)
		})
	}
}

func ExampleSalvage() {
	ctx := context.Background()
	tmp, _ := os.MkdirTemp("", "batos-example-")
	defer os.RemoveAll(tmp)
	from, to := filepath.Join(tmp, "damaged"), filepath.Join(tmp, "salvaged")
	im, _ := uvm.Open(from, uvm.Options{})
	_ = im.Update(ctx, func(tx *uvm.Tx) error {
		o, _ := tx.New()
		_ = o.Set("greeting", "hello")
		return tx.SetRoot("genesis", o)
	})
	_ = im.Close()

	// Open refuses an image whose files are damaged; Salvage copies what
	// is readable into a new one (here: everything) and says what it lost.
	rep, err := uvm.Salvage(ctx, from, to)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(rep)
	fmt.Println("complete:", rep.Complete())
	// Output:
	// copied 1 objects, 0 method versions, 0 records, 0 blobs, 1 roots
	// complete: true
}
