package uvm_test

import (
	"strings"
	"testing"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/require"
)

func TestSlotValuesRoundTrip(t *testing.T) {
	values := map[string]any{
		"nil":    nil,
		"true":   true,
		"false":  false,
		"int":    int64(-42),
		"float":  3.25,
		"string": "héllo",
		"bytes":  []byte{0, 1, 2},
		"list":   []any{int64(1), "two", []any{3.0}},
		"map":    map[string]any{"a": int64(1), "b": map[string]any{"c": "d"}},
		"ref":    uvm.Ref{OID: 7},
		"prim":   uvm.Primitive{Name: "clone"},
		"blob":   uvm.BlobRef{ID: "abc", Size: 3},
	}
	forEachImage(t, func(t *testing.T, im *uvm.Image) {
		var oid uvm.OID
		require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
			o, err := tx.New()
			if err != nil {
				return err
			}
			oid = o.OID()
			for k, v := range values {
				if err := o.Set(k, v); err != nil {
					return err
				}
			}
			return nil
		}))
		require.NoError(t, im.View(ctx, func(tx *uvm.Tx) error {
			o, err := tx.Object(oid)
			require.NoError(t, err)
			for k, want := range values {
				got, ok := o.Get(k)
				require.True(t, ok, "slot %q missing", k)
				require.Equal(t, want, got, "slot %q", k)
			}
			return nil
		}))
	})
}

func TestSetNormalizesAndCopies(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{})
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
		o, _ := tx.New()
		list := []any{1, "x"}
		require.NoError(t, o.Set("n", 5))
		require.NoError(t, o.Set("f", float32(1.5)))
		require.NoError(t, o.Set("l", list))
		list[1] = "changed after Set"
		n, _ := o.Get("n")
		f, _ := o.Get("f")
		l, _ := o.Get("l")
		require.Equal(t, int64(5), n)
		require.Equal(t, 1.5, f)
		require.Equal(t, []any{int64(1), "x"}, l)
		return nil
	}))
}

func TestBadInput(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{})
	err := im.Update(ctx, func(tx *uvm.Tx) error {
		o, _ := tx.New()
		cyclic := []any{nil}
		cyclic[0] = cyclic
		cases := []struct {
			name string
			slot string
			v    any
			want error
		}{
			{"empty name", "", 1, uvm.ErrBadName},
			{"long name", strings.Repeat("x", 257), 1, uvm.ErrBadName},
			{"control char", "a\nb", 1, uvm.ErrBadName},
			{"bad utf8", "a\xffb", 1, uvm.ErrBadName},
			{"channel", "c", make(chan int), uvm.ErrUnstorable},
			{"func", "f", func() {}, uvm.ErrUnstorable},
			{"struct", "s", struct{ A int }{1}, uvm.ErrUnstorable},
			{"func in list", "l", []any{1, func() {}}, uvm.ErrUnstorable},
			{"cycle", "cyc", cyclic, uvm.ErrUnstorable},
			{"bad parents", "parents", []any{"not a ref"}, uvm.ErrUnstorable},
			{"uint64 overflow", "u", uint64(1 << 63), uvm.ErrUnstorable},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				err := o.Set(c.slot, c.v)
				require.ErrorIs(t, err, c.want)
			})
		}
		t.Run("name at limit", func(t *testing.T) {
			require.NoError(t, o.Set(strings.Repeat("x", 256), 1))
		})
		t.Run("nil object", func(t *testing.T) {
			_, err := tx.Clone(nil)
			require.ErrorIs(t, err, uvm.ErrNilObject)
			_, err = tx.Send(ctx, nil, "x")
			require.ErrorIs(t, err, uvm.ErrNilObject)
		})
		t.Run("unknown oid", func(t *testing.T) {
			_, err := tx.Object(999999)
			require.ErrorIs(t, err, uvm.ErrNotFound)
			var nf *uvm.NotFoundError
			require.ErrorAs(t, err, &nf)
			require.Contains(t, nf.Error(), "999999")
		})
		t.Run("delete missing slot", func(t *testing.T) {
			require.ErrorIs(t, o.Delete("nope"), uvm.ErrSlotNotFound)
		})
		return nil
	})
	require.NoError(t, err)
}

func TestRootsCloneDelete(t *testing.T) {
	forEachImage(t, func(t *testing.T, im *uvm.Image) {
		var proto, clone uvm.OID
		require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
			p, _ := tx.New()
			require.NoError(t, p.Set("list", []any{int64(1)}))
			require.NoError(t, p.Set("name", "proto"))
			require.NoError(t, tx.SetRoot("genesis", p))
			c, err := tx.Clone(p)
			require.NoError(t, err)
			require.NotEqual(t, p.OID(), c.OID())
			l, _ := c.Get("list")
			l.([]any)[0] = int64(99) // the clone's copy, not the prototype's
			c.MarkChanged()
			proto, clone = p.OID(), c.OID()
			return tx.SetRoot("traits", c)
		}))
		require.NoError(t, im.View(ctx, func(tx *uvm.Tx) error {
			g, err := tx.Root("genesis")
			require.NoError(t, err)
			require.Equal(t, proto, g.OID())
			l, _ := g.Get("list")
			require.Equal(t, []any{int64(1)}, l)
			roots, err := tx.Roots()
			require.NoError(t, err)
			require.Equal(t, map[string]uvm.OID{"genesis": proto, "traits": clone}, roots)
			return nil
		}))
		require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
			c, _ := tx.Object(clone)
			require.NoError(t, tx.Delete(c))
			_, err := tx.Object(clone)
			require.ErrorIs(t, err, uvm.ErrNotFound)
			p, _ := tx.Object(proto)
			return p.Delete("name")
		}))
		require.NoError(t, im.View(ctx, func(tx *uvm.Tx) error {
			_, err := tx.Object(clone)
			require.ErrorIs(t, err, uvm.ErrNotFound)
			_, err = tx.Root("traits")
			require.ErrorIs(t, err, uvm.ErrNotFound, "root of a deleted object")
			p, _ := tx.Object(proto)
			require.False(t, p.Has("name"))
			require.Equal(t, []string{"list"}, p.Slots())
			return nil
		}))
	})
}

func TestIsBehaviour(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{})
	var oid uvm.OID
	check := func(o *uvm.Object) {
		t.Helper()
		for name, want := range map[string]bool{"data": false, "prim": true, "meth": true, "absent": false} {
			require.Equal(t, want, o.IsBehaviour(name), name)
		}
	}
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
		o, err := tx.New()
		if err != nil {
			return err
		}
		oid = o.OID()
		require.NoError(t, o.Set("data", "x"))
		require.NoError(t, o.Set("prim", uvm.Primitive{Name: "p"}))
		_, err = tx.InstallMethod(o, uvm.Method{Selector: "meth", Source: "package m"})
		require.NoError(t, err)
		check(o)
		return nil
	}))
	require.NoError(t, im.View(ctx, func(tx *uvm.Tx) error {
		o, err := tx.Object(oid)
		require.NoError(t, err)
		check(o) // loaded: the method still encoded
		return nil
	}))
}

// DataSlots lists the slots Slots lists, less the methods.
func TestDataSlots(t *testing.T) {
	forEachImage(t, func(t *testing.T, im *uvm.Image) {
		var oid uvm.OID
		require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
			o, _ := tx.New()
			oid = o.OID()
			require.NoError(t, o.Set("n", 1))
			require.NoError(t, o.Set("list", []any{"a"}))
			_, err := tx.InstallMethod(o, uvm.Method{Selector: "greet", Source: "package m"})
			require.Equal(t, []string{"list", "n"}, o.DataSlots())
			return err
		}))
		require.NoError(t, im.View(ctx, func(tx *uvm.Tx) error {
			o, err := tx.Object(oid)
			require.NoError(t, err)
			require.Equal(t, []string{"list", "n"}, o.DataSlots())
			require.Equal(t, []string{"greet", "list", "n"}, o.Slots())
			require.Equal(t, []string{"list", "n"}, o.DataSlots(), "also once the methods are read")
			return nil
		}))
	})
}
