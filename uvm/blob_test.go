package uvm_test

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/require"
)

func TestBlobs(t *testing.T) {
	dir := t.TempDir()
	im := uvmtest.Disk(t, dir, uvm.Options{NoSync: true})
	data := make([]byte, 5*uvm.BlobChunkSize+123) // several transactions of chunks
	rand.Read(data)
	ref, err := im.PutBlob(ctx, bytes.NewReader(data))
	require.NoError(t, err)
	require.Equal(t, int64(len(data)), ref.Size)
	again, err := im.PutBlob(ctx, bytes.NewReader(data))
	require.NoError(t, err)
	require.Equal(t, ref, again, "content-addressed")
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
		o, _ := tx.New()
		require.NoError(t, o.Set("adapter", ref))
		return tx.SetRoot("holder", o)
	}))

	im = uvmtest.Reopen(t, im, dir, uvm.Options{NoSync: true})
	require.NoError(t, im.View(ctx, func(tx *uvm.Tx) error {
		o, _ := tx.Root("holder")
		r, _ := o.Get("adapter")
		var out bytes.Buffer
		require.NoError(t, tx.ReadBlob(r.(uvm.BlobRef), &out))
		require.True(t, bytes.Equal(data, out.Bytes()), "blob bytes identical after reopen")
		err := tx.ReadBlob(uvm.BlobRef{ID: "00"}, &out)
		require.ErrorIs(t, err, uvm.ErrNotFound)
		return nil
	}))
	empty, err := im.PutBlob(ctx, bytes.NewReader(nil))
	require.NoError(t, err)
	require.NoError(t, im.View(ctx, func(tx *uvm.Tx) error {
		var out bytes.Buffer
		require.NoError(t, tx.ReadBlob(empty, &out))
		require.Zero(t, out.Len())
		return nil
	}))
}

func TestBlobsInMemory(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{})
	data := make([]byte, 3*uvm.BlobChunkSize+7)
	rand.Read(data)
	ref, err := im.PutBlob(ctx, bytes.NewReader(data))
	require.NoError(t, err)
	require.NoError(t, im.View(ctx, func(tx *uvm.Tx) error {
		var out bytes.Buffer
		require.NoError(t, tx.ReadBlob(ref, &out))
		require.True(t, bytes.Equal(data, out.Bytes()))
		return nil
	}))
}
