package adapter_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/batos-dev/batos/persona/adapter"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/require"
)

// AbsorbIn records the adapters in the caller's transaction: a discarded
// transaction records none, a committed one all, and a second absorption
// finds them unchanged.
func TestAbsorbInTheCallersTransaction(t *testing.T) {
	ctx := context.Background()
	stageDir := t.TempDir()
	stage(t, filepath.Join(stageDir, "brick.safetensors"), 1000)
	stage(t, filepath.Join(stageDir, "ROBIN", "adapter_model.safetensors"), 500)
	im := uvmtest.Disk(t, "", uvm.Options{})

	errDiscard := errors.New("discard")
	err := im.Update(ctx, func(tx *uvm.Tx) error {
		rep, err := adapter.AbsorbIn(ctx, tx, stageDir)
		require.NoError(t, err)
		require.Equal(t, []string{"BRICK/brick", "ROBIN/robin"}, names(rep.Absorbed))
		return errDiscard
	})
	require.ErrorIs(t, err, errDiscard)
	uvmtest.View(t, im, func(tx *uvm.Tx) error {
		_, err := adapter.Find(tx, "brick")
		require.ErrorIs(t, err, adapter.ErrNotFound, "a discarded transaction records nothing")
		return nil
	})

	uvmtest.Update(t, im, func(tx *uvm.Tx) error {
		rep, err := adapter.AbsorbIn(ctx, tx, stageDir)
		require.NoError(t, err)
		require.Equal(t, []string{"BRICK/brick", "ROBIN/robin"}, names(rep.Absorbed))
		return nil
	})
	uvmtest.View(t, im, func(tx *uvm.Tx) error {
		all, err := adapter.List(tx, "")
		require.NoError(t, err)
		require.Equal(t, []string{"BRICK/brick", "ROBIN/robin"}, names(all))
		return nil
	})
	rep := absorb(t, im, stageDir)
	require.Empty(t, rep.Absorbed)
	require.Equal(t, []string{"BRICK/brick", "ROBIN/robin"}, names(rep.Unchanged))
}
