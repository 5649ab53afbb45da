package uvm_test

import (
	"errors"
	"testing"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/require"
)

func TestRecords(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{})
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
		for _, k := range []string{"a/1", "a/2", "b/1"} {
			require.NoError(t, tx.PutRecord("ns", k, []byte(k)))
		}
		require.NoError(t, tx.PutRecord("other", "a/3", []byte("x")))
		return tx.DeleteRecord("ns", "a/2")
	}))
	require.NoError(t, im.View(ctx, func(tx *uvm.Tx) error {
		var got []string
		require.NoError(t, tx.ScanRecords("ns", "a/", func(k string, v []byte) error {
			got = append(got, k+"="+string(v))
			return nil
		}))
		require.Equal(t, []string{"a/1=a/1"}, got)
		_, err := tx.GetRecord("ns", "a/2")
		require.ErrorIs(t, err, uvm.ErrNotFound)
		_, err = tx.GetRecord("", "x")
		require.ErrorIs(t, err, uvm.ErrBadName)
		stop := errors.New("stop")
		require.ErrorIs(t, tx.ScanRecords("ns", "", func(string, []byte) error { return stop }), stop)
		return nil
	}))
}
