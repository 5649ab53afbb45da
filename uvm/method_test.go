package uvm_test

import (
	"fmt"
	"testing"

	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/require"
)

func TestMethodVersions(t *testing.T) {
	forEachImage(t, func(t *testing.T, im *uvm.Image) {
		var oid uvm.OID
		require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
			o, _ := tx.New()
			oid = o.OID()
			for i, src := range []string{"v1 source", "v2 source", "v3 source"} {
				m, err := tx.InstallMethod(o, uvm.Method{Selector: "greet", Source: src, Persona: "BRICK", CycleID: fmt.Sprint("c", i)})
				require.NoError(t, err)
				require.Equal(t, i+1, m.Version)
				require.False(t, m.Created.IsZero())
			}
			// Another selector whose name extends this one stays separate.
			_, err := tx.InstallMethod(o, uvm.Method{Selector: "greeting", Source: "other"})
			return err
		}))
		require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
			o, _ := tx.Object(oid)
			vs, err := tx.MethodVersions(o, "greet")
			require.NoError(t, err)
			require.Len(t, vs, 3)
			require.Equal(t, "v2 source", vs[1].Source)
			require.Equal(t, "c1", vs[1].CycleID)
			cur, _ := o.Get("greet")
			require.Equal(t, 3, cur.(uvm.Method).Version)

			m, err := tx.RevertMethod(o, "greet", 1)
			require.NoError(t, err)
			require.Equal(t, "v1 source", m.Source)
			_, err = tx.MethodVersion(o, "greet", 9)
			require.ErrorIs(t, err, uvm.ErrNotFound)
			return nil
		}))
		require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
			o, _ := tx.Object(oid)
			cur, _ := o.Get("greet")
			require.Equal(t, 1, cur.(uvm.Method).Version, "revert persisted")
			m, err := tx.InstallMethod(o, uvm.Method{Selector: "greet", Source: "v4"})
			require.NoError(t, err)
			require.Equal(t, 4, m.Version, "versions keep counting after a revert")
			return nil
		}))
	})
}
