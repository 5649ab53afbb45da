package uvm_test

import (
	"context"
	"errors"
	"testing"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/require"
)

func TestCovenant(t *testing.T) {
	forEachImage(t, func(t *testing.T, im *uvm.Image) {
		var oid uvm.OID
		require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
			o, _ := tx.New()
			oid = o.OID()
			require.NoError(t, o.Set("tags", []any{"a"}))
			return o.Set("counts", map[string]any{"x": int64(1)})
		}))
		snapshot := uvmtest.Fingerprint(t, im)

		t.Run("in-place map change without mark fails", func(t *testing.T) {
			err := im.Update(ctx, func(tx *uvm.Tx) error {
				o, _ := tx.Object(oid)
				m, _ := o.Get("counts")
				m.(map[string]any)["x"] = int64(2)
				return nil
			})
			require.ErrorIs(t, err, uvm.ErrCovenant)
			var ce *uvm.CovenantError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, oid, ce.OID)
			require.Equal(t, "counts", ce.Slot)
			require.Equal(t, snapshot, uvmtest.Fingerprint(t, im), "image unchanged")
		})
		t.Run("in-place slice change with mark commits", func(t *testing.T) {
			require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
				o, _ := tx.Object(oid)
				s, _ := o.Get("tags")
				s.([]any)[0] = "b"
				o.MarkChanged()
				return nil
			}))
			uvmtest.View(t, im, func(tx *uvm.Tx) error {
				o, _ := tx.Object(oid)
				s, _ := o.Get("tags")
				require.Equal(t, []any{"b"}, s)
				return nil
			})
		})
		t.Run("reading a container without changing it needs no mark", func(t *testing.T) {
			require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
				o, _ := tx.Object(oid)
				o.Get("counts")
				return nil
			}))
		})
		t.Run("Self.Set without MarkChanged fails", func(t *testing.T) {
			require.NoError(t, im.RegisterPrimitive("sloppy", func(ctx context.Context, c *uvm.Call) (any, error) {
				return nil, c.Self(ctx).Set("counts", "overwritten")
			}))
			require.NoError(t, im.RegisterPrimitive("careful", func(ctx context.Context, c *uvm.Call) (any, error) {
				s := c.Self(ctx)
				defer s.MarkChanged()
				return nil, s.Set("careful", true)
			}))
			require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
				o, _ := tx.Object(oid)
				require.NoError(t, o.Set("sloppy", uvm.Primitive{Name: "sloppy"}))
				return o.Set("careful", uvm.Primitive{Name: "careful"})
			}))
			before := uvmtest.Fingerprint(t, im)
			_, err := im.Send(ctx, oid, "sloppy")
			require.ErrorIs(t, err, uvm.ErrCovenant)
			require.Equal(t, before, uvmtest.Fingerprint(t, im))
			_, err = im.Send(ctx, oid, "careful")
			require.NoError(t, err)
		})
	})
}

func TestCheckCovenant(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{})
	var oid uvm.OID
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
		o, _ := tx.New()
		oid = o.OID()
		return o.Set("m", map[string]any{})
	}))
	discard := errors.New("dry run")
	err := im.Update(ctx, func(tx *uvm.Tx) error {
		o, _ := tx.Object(oid)
		require.NoError(t, tx.CheckCovenant())
		m, _ := o.Get("m")
		m.(map[string]any)["k"] = "v"
		err := tx.CheckCovenant()
		require.ErrorIs(t, err, uvm.ErrCovenant)
		o.MarkChanged()
		require.NoError(t, tx.CheckCovenant())
		return discard
	})
	require.ErrorIs(t, err, discard)
}
