package uvm_test

import (
	"context"
	"testing"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/require"
)

var ctx = context.Background()

// forEachImage runs fn against the two kinds of image each behaviour test
// covers: one in memory and one on disk.
func forEachImage(t *testing.T, fn func(t *testing.T, im *uvm.Image)) {
	t.Run("memory", func(t *testing.T) { fn(t, uvmtest.Mem(t, uvm.Options{})) })
	t.Run("disk", func(t *testing.T) { fn(t, uvmtest.Disk(t, "", uvm.Options{NoSync: true})) })
}

func TestClosedImage(t *testing.T) {
	im, err := uvm.Open("", uvm.Options{InMemory: true})
	require.NoError(t, err)
	require.NoError(t, im.Close())
	require.NoError(t, im.Close(), "second Close")
	require.ErrorIs(t, im.View(ctx, func(*uvm.Tx) error { return nil }), uvm.ErrClosed)
	require.ErrorIs(t, im.Update(ctx, func(*uvm.Tx) error { return nil }), uvm.ErrClosed)
	_, err = im.Send(ctx, 1, "x")
	require.ErrorIs(t, err, uvm.ErrClosed)
}

func TestSecondOpenIsLocked(t *testing.T) {
	dir := t.TempDir()
	im := uvmtest.Disk(t, dir, uvm.Options{})
	_, err := uvm.Open(dir, uvm.Options{})
	require.ErrorIs(t, err, uvm.ErrLocked)
	require.NoError(t, im.Close())
	im2, err := uvm.Open(dir, uvm.Options{})
	require.NoError(t, err, "open after close")
	require.NoError(t, im2.Close())
}

func TestOpenArguments(t *testing.T) {
	_, err := uvm.Open("", uvm.Options{})
	require.Error(t, err)
	_, err = uvm.Open(t.TempDir(), uvm.Options{InMemory: true})
	require.Error(t, err)
}

func TestOIDsNeverReused(t *testing.T) {
	dir := t.TempDir()
	seen := map[uvm.OID]bool{}
	im := uvmtest.Disk(t, dir, uvm.Options{NoSync: true})
	for round := range 3 {
		if round > 0 {
			im = uvmtest.Reopen(t, im, dir, uvm.Options{NoSync: true})
		}
		for i := range 5 {
			err := im.Update(ctx, func(tx *uvm.Tx) error {
				o, err := tx.New()
				require.NoError(t, err)
				require.False(t, seen[o.OID()], "oid %d reused", o.OID())
				seen[o.OID()] = true
				if i%2 == 0 {
					return errDiscard // its oid must still never come back
				}
				return nil
			})
			if i%2 == 0 {
				require.ErrorIs(t, err, errDiscard)
			} else {
				require.NoError(t, err)
			}
		}
	}
	require.Len(t, seen, 15)
}

func TestPersistsAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	im := uvmtest.Disk(t, dir, uvm.Options{})
	var oid uvm.OID
	uvmtest.Update(t, im, func(tx *uvm.Tx) error {
		o, _ := tx.New()
		oid = o.OID()
		require.NoError(t, o.Set("name", "genesis"))
		require.NoError(t, o.Set("data", map[string]any{"k": []any{1.5, "s", nil}}))
		if _, err := tx.InstallMethod(o, uvm.Method{Selector: "greet", Source: "package p", Persona: "ALFRED"}); err != nil {
			return err
		}
		if err := tx.PutRecord("memory", "doc/1", []byte("learned")); err != nil {
			return err
		}
		return tx.SetRoot("genesis", o)
	})
	fp := uvmtest.Fingerprint(t, im)

	im = uvmtest.Reopen(t, im, dir, uvm.Options{})
	require.Equal(t, fp, uvmtest.Fingerprint(t, im))
	uvmtest.View(t, im, func(tx *uvm.Tx) error {
		g, err := tx.Root("genesis")
		require.NoError(t, err)
		require.Equal(t, oid, g.OID())
		d, _ := g.Get("data")
		require.Equal(t, map[string]any{"k": []any{1.5, "s", nil}}, d)
		m, _ := g.Get("greet")
		require.Equal(t, "ALFRED", m.(uvm.Method).Persona)
		rec, err := tx.GetRecord("memory", "doc/1")
		require.NoError(t, err)
		require.Equal(t, "learned", string(rec))
		return nil
	})
}
