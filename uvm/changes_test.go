package uvm_test

import (
	"errors"
	"testing"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/require"
)

// Changes lists what a transaction has changed so far: set, removed and
// changed-in-place slots of loaded objects, the slots of new objects and
// deleted objects, and nothing for a slot set back to what was loaded.
func TestTxChanges(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{})
	var a, b uvm.OID
	uvmtest.Update(t, im, func(tx *uvm.Tx) error {
		x, _ := tx.New()
		y, _ := tx.New()
		a, b = x.OID(), y.OID()
		require.NoError(t, x.Set("n", 1))
		require.NoError(t, x.Set("gone", "soon"))
		require.NoError(t, x.Set("list", []any{int64(1)}))
		require.NoError(t, x.Set("same", "s"))
		return y.Set("k", true)
	})
	errDiscard := errors.New("discard")
	err := im.Update(ctx, func(tx *uvm.Tx) error {
		require.Empty(t, tx.Changes(), "nothing changed yet")
		x, err := tx.Object(a)
		require.NoError(t, err)
		require.NoError(t, x.Set("n", 2))
		require.NoError(t, x.Delete("gone"))
		l, _ := x.Get("list")
		l.([]any)[0] = int64(9) // in place, unmarked: still a change
		require.NoError(t, x.Set("same", "t"))
		require.NoError(t, x.Set("same", "s")) // back as loaded
		y, err := tx.Object(b)
		require.NoError(t, err)
		require.NoError(t, tx.Delete(y))
		z, err := tx.New()
		require.NoError(t, err)
		require.NoError(t, z.Set("name", "z"))

		var got []string
		for _, c := range tx.Changes() {
			got = append(got, c.String())
		}
		require.Equal(t, []string{
			uvm.Change{OID: a, Slot: "gone", Removed: true}.String(),
			uvm.Change{OID: a, Slot: "list"}.String(),
			uvm.Change{OID: a, Slot: "n"}.String(),
			uvm.Change{OID: b, Removed: true}.String(),
			uvm.Change{OID: z.OID(), Slot: "name", New: true}.String(),
		}, got)
		require.Contains(t, got[0], "(removed)")
		require.Contains(t, got[3], "(deleted)")
		require.Contains(t, got[4], "(new)")
		return errDiscard
	})
	require.ErrorIs(t, err, errDiscard)
}
