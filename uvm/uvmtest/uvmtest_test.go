package uvmtest_test

import (
	"testing"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/require"
)

func TestReopenKeepsSlots(t *testing.T) {
	dir := t.TempDir()
	im := uvmtest.Disk(t, dir, uvm.Options{})
	var oid uvm.OID
	uvmtest.Update(t, im, func(tx *uvm.Tx) error {
		o, err := tx.New()
		if err != nil {
			return err
		}
		oid = o.OID()
		return o.Set("n", int64(7))
	})
	before := uvmtest.Fingerprint(t, im)
	im = uvmtest.Reopen(t, im, dir, uvm.Options{})
	require.Equal(t, before, uvmtest.Fingerprint(t, im))
	uvmtest.View(t, im, func(tx *uvm.Tx) error {
		o, err := tx.Object(oid)
		if err != nil {
			return err
		}
		v, _ := o.Get("n")
		require.Equal(t, int64(7), v)
		return nil
	})
}

func TestMemIsInMemory(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{NoSync: true})
	uvmtest.Update(t, im, func(tx *uvm.Tx) error {
		_, err := tx.New()
		return err
	})
	require.NotEmpty(t, uvmtest.Fingerprint(t, im))
}
