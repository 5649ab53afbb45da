package uvm_test

import (
	"bytes"
	"testing"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/require"
)

func TestBackupRestore(t *testing.T) {
	src := uvmtest.Mem(t, uvm.Options{})
	var oid uvm.OID
	require.NoError(t, src.Update(ctx, func(tx *uvm.Tx) error {
		o, _ := tx.New()
		oid = o.OID()
		require.NoError(t, o.Set("k", "v"))
		if _, err := tx.InstallMethod(o, uvm.Method{Selector: "m", Source: "package p"}); err != nil {
			return err
		}
		return tx.SetRoot("genesis", o)
	}))
	var buf bytes.Buffer
	require.NoError(t, src.Backup(ctx, &buf))

	dst := uvmtest.Disk(t, "", uvm.Options{NoSync: true})
	require.NoError(t, dst.Restore(ctx, bytes.NewReader(buf.Bytes())))
	require.Equal(t, uvmtest.Fingerprint(t, src), uvmtest.Fingerprint(t, dst))
	require.NoError(t, dst.Update(ctx, func(tx *uvm.Tx) error {
		g, err := tx.Root("genesis")
		require.NoError(t, err)
		v, _ := g.Get("k")
		require.Equal(t, "v", v)
		n, err := tx.New()
		require.NoError(t, err)
		require.Greater(t, n.OID(), oid, "restored image never reuses an OID")
		return nil
	}))
	require.ErrorIs(t, dst.Restore(ctx, bytes.NewReader(buf.Bytes())), uvm.ErrNotEmpty)
}

func TestRestoreRefusesDamagedBackup(t *testing.T) {
	src := uvmtest.Mem(t, uvm.Options{})
	require.NoError(t, src.Update(ctx, func(tx *uvm.Tx) error {
		o, _ := tx.New()
		return o.Set("k", "some value")
	}))
	var buf bytes.Buffer
	require.NoError(t, src.Backup(ctx, &buf))
	good := buf.Bytes()
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 1
	for name, b := range map[string][]byte{
		"truncated": good[:len(good)-7],
		"flipped":   flipped,
		"garbage":   []byte("not a backup at all"),
	} {
		t.Run(name, func(t *testing.T) {
			dst := uvmtest.Mem(t, uvm.Options{})
			before := uvmtest.Fingerprint(t, dst)
			require.ErrorIs(t, dst.Restore(ctx, bytes.NewReader(b)), uvm.ErrBadBackup)
			require.Equal(t, before, uvmtest.Fingerprint(t, dst), "nothing written")
		})
	}
}

func TestFingerprintExclude(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{})
	all, err := im.Fingerprint(ctx)
	require.NoError(t, err)
	part, err := im.Fingerprint(ctx, "audit")
	require.NoError(t, err)
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error { return tx.PutRecord("audit", "1", []byte("x")) }))
	all2, _ := im.Fingerprint(ctx)
	part2, _ := im.Fingerprint(ctx, "audit")
	require.NotEqual(t, all, all2)
	require.Equal(t, part, part2)
}
