package uvm_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/require"
)

// images returns the two kinds of image each behaviour test runs against.
func images(t *testing.T) map[string]func(t *testing.T) *uvm.Image {
	t.Helper()
	return map[string]func(t *testing.T) *uvm.Image{
		"memory": func(t *testing.T) *uvm.Image {
			im, err := uvm.Open("", uvm.Options{InMemory: true})
			require.NoError(t, err)
			t.Cleanup(func() { im.Close() })
			return im
		},
		"disk": func(t *testing.T) *uvm.Image {
			im, err := uvm.Open(t.TempDir(), uvm.Options{NoSync: true})
			require.NoError(t, err)
			t.Cleanup(func() { im.Close() })
			return im
		},
	}
}

func forEachImage(t *testing.T, fn func(t *testing.T, im *uvm.Image)) {
	for name, open := range images(t) {
		t.Run(name, func(t *testing.T) { fn(t, open(t)) })
	}
}

func memImage(t *testing.T) *uvm.Image {
	t.Helper()
	im, err := uvm.Open("", uvm.Options{InMemory: true})
	require.NoError(t, err)
	t.Cleanup(func() { im.Close() })
	return im
}

var ctx = context.Background()

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
	im := memImage(t)
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
	im := memImage(t)
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
	im, err := uvm.Open(dir, uvm.Options{})
	require.NoError(t, err)
	_, err = uvm.Open(dir, uvm.Options{})
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

func TestUpdateDiscardsOnErrorAndPanic(t *testing.T) {
	forEachImage(t, func(t *testing.T, im *uvm.Image) {
		var oid uvm.OID
		require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
			o, _ := tx.New()
			oid = o.OID()
			return o.Set("n", 1)
		}))
		boom := errors.New("boom")
		err := im.Update(ctx, func(tx *uvm.Tx) error {
			o, _ := tx.Object(oid)
			o.Set("n", 2)
			n, _ := tx.New()
			n.Set("x", 1)
			tx.SetRoot("leaked", n)
			return boom
		})
		require.ErrorIs(t, err, boom)
		err = im.Update(ctx, func(tx *uvm.Tx) error {
			o, _ := tx.Object(oid)
			o.Set("n", 3)
			var m map[string]int
			m["crash"] = 1 // nil map write panics
			return nil
		})
		require.ErrorIs(t, err, uvm.ErrPanic)
		require.Contains(t, err.Error(), "nil map")
		require.NoError(t, im.View(ctx, func(tx *uvm.Tx) error {
			o, err := tx.Object(oid)
			require.NoError(t, err)
			n, _ := o.Get("n")
			require.Equal(t, int64(1), n)
			_, err = tx.Root("leaked")
			require.ErrorIs(t, err, uvm.ErrNotFound)
			return nil
		}))
	})
}

func TestViewIsReadOnly(t *testing.T) {
	im := memImage(t)
	err := im.View(ctx, func(tx *uvm.Tx) error {
		_, err := tx.New()
		return err
	})
	require.ErrorIs(t, err, uvm.ErrReadOnly)
}

func TestTxUseAfterEnd(t *testing.T) {
	im := memImage(t)
	var kept *uvm.Object
	var keptTx *uvm.Tx
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
		kept, _ = tx.New()
		keptTx = tx
		return nil
	}))
	require.ErrorIs(t, kept.Set("x", 1), uvm.ErrTxDone)
	_, err := keptTx.New()
	require.ErrorIs(t, err, uvm.ErrTxDone)
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

func TestOIDsNeverReused(t *testing.T) {
	dir := t.TempDir()
	seen := map[uvm.OID]bool{}
	for round := 0; round < 3; round++ {
		im, err := uvm.Open(dir, uvm.Options{NoSync: true})
		require.NoError(t, err)
		for i := 0; i < 5; i++ {
			im.Update(ctx, func(tx *uvm.Tx) error {
				o, err := tx.New()
				require.NoError(t, err)
				require.False(t, seen[o.OID()], "oid %d reused", o.OID())
				seen[o.OID()] = true
				if i%2 == 0 {
					return errors.New("discarded: its oid must still never come back")
				}
				return nil
			})
		}
		require.NoError(t, im.Close())
	}
	require.Len(t, seen, 15)
}

// chain builds objects o0 → o1 → … → on (each the parent of the previous)
// and returns their OIDs.
func chain(t *testing.T, tx *uvm.Tx, n int) []*uvm.Object {
	objs := make([]*uvm.Object, n+1)
	for i := n; i >= 0; i-- {
		o, err := tx.New()
		require.NoError(t, err)
		if i < n {
			require.NoError(t, o.SetParents(objs[i+1]))
		}
		objs[i] = o
	}
	return objs
}

func TestDelegation(t *testing.T) {
	forEachImage(t, func(t *testing.T, im *uvm.Image) {
		require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
			objs := chain(t, tx, 5)
			require.NoError(t, objs[5].Set("deep", "from the top"))
			require.NoError(t, objs[2].Set("mid", "middle"))
			require.NoError(t, objs[0].Set("mid", "own slot wins"))

			f, err := tx.Lookup(objs[0], "deep")
			require.NoError(t, err)
			require.Equal(t, objs[5].OID(), f.Holder.OID())
			require.Equal(t, "from the top", f.Value)

			v, err := tx.Send(ctx, objs[1], "mid")
			require.NoError(t, err)
			require.Equal(t, "middle", v)
			v, err = tx.Send(ctx, objs[0], "mid")
			require.NoError(t, err)
			require.Equal(t, "own slot wins", v)

			_, err = tx.Send(ctx, objs[0], "nobody")
			require.ErrorIs(t, err, uvm.ErrNotUnderstood)
			var nu *uvm.NotUnderstoodError
			require.ErrorAs(t, err, &nu)
			require.Equal(t, "nobody", nu.Selector)
			require.Equal(t, objs[0].OID(), nu.Receiver)

			_, err = tx.Send(ctx, objs[2], "mid", 1)
			require.ErrorIs(t, err, uvm.ErrNotMethod)
			return nil
		}))
	})
}

func TestAmbiguityAndSendVia(t *testing.T) {
	im := memImage(t)
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
		left, _ := tx.New()
		right, _ := tx.New()
		top, _ := tx.New()
		require.NoError(t, top.Set("shared", "top"))
		require.NoError(t, left.SetParents(top))
		require.NoError(t, right.SetParents(top))
		require.NoError(t, left.Set("speak", "left"))
		require.NoError(t, right.Set("speak", "right"))
		child, _ := tx.New()
		require.NoError(t, child.SetParents(left, right))

		// A diamond reaching one holder is not ambiguous.
		v, err := tx.Send(ctx, child, "shared")
		require.NoError(t, err)
		require.Equal(t, "top", v)

		_, err = tx.Send(ctx, child, "speak")
		require.ErrorIs(t, err, uvm.ErrAmbiguous)
		var amb *uvm.AmbiguousError
		require.ErrorAs(t, err, &amb)
		require.Equal(t, []uvm.OID{left.OID(), right.OID()}, amb.Holders)
		require.Equal(t, child.OID(), amb.Receiver)
		require.Equal(t, child.OID(), amb.Fork, "the receiver's own parents disagree")

		v, err = tx.SendVia(ctx, child, right.OID(), "speak")
		require.NoError(t, err)
		require.Equal(t, "right", v)
		// top is an ancestor (a parent's parent) that does not hold "speak".
		_, err = tx.SendVia(ctx, child, top.OID(), "speak")
		require.ErrorIs(t, err, uvm.ErrNotUnderstood)
		stranger, _ := tx.New()
		_, err = tx.SendVia(ctx, child, stranger.OID(), "speak")
		require.ErrorIs(t, err, uvm.ErrNotParent)
		return nil
	}))
}

func TestPrimitives(t *testing.T) {
	dir := t.TempDir()
	open := func() *uvm.Image {
		im, err := uvm.Open(dir, uvm.Options{NoSync: true})
		require.NoError(t, err)
		require.NoError(t, im.RegisterPrimitive("add", func(ctx context.Context, c *uvm.Call) (any, error) {
			sum := int64(0)
			for _, a := range c.Args {
				sum += a.(int64)
			}
			base, _ := c.Receiver.Get("base")
			b, _ := base.(int64)
			return sum + b, nil
		}))
		require.NoError(t, im.RegisterPrimitive("explode", func(ctx context.Context, c *uvm.Call) (any, error) {
			panic("primitive blew up")
		}))
		return im
	}
	im := open()
	var child uvm.OID
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
		traits, _ := tx.New()
		require.NoError(t, traits.Set("add", uvm.Primitive{Name: "add"}))
		require.NoError(t, traits.Set("explode", uvm.Primitive{Name: "explode"}))
		require.NoError(t, traits.Set("ghost", uvm.Primitive{Name: "never-registered"}))
		c, _ := tx.New()
		require.NoError(t, c.SetParents(traits))
		require.NoError(t, c.Set("base", 100))
		child = c.OID()
		return tx.SetRoot("traits", traits)
	}))
	require.NoError(t, im.Close())

	im = open() // the slot names the primitive; the image survives the restart
	defer im.Close()
	v, err := im.Send(ctx, child, "add", 1, 2, int32(3))
	require.NoError(t, err)
	require.Equal(t, int64(106), v)
	_, err = im.Send(ctx, child, "explode")
	require.ErrorIs(t, err, uvm.ErrPanic)
	require.Contains(t, err.Error(), "primitive blew up")
	_, err = im.Send(ctx, child, "ghost")
	require.ErrorIs(t, err, uvm.ErrNoPrimitive)
	require.Contains(t, err.Error(), "never-registered")
}

type recordingHook struct {
	mu   sync.Mutex
	msgs []string
}

func (h *recordingHook) DoesNotUnderstand(ctx context.Context, m *uvm.Message) (any, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.msgs = append(h.msgs, fmt.Sprintf("%d %s %v", m.Receiver.OID(), m.Selector, m.Args))
	return "handled " + m.Selector, nil
}

func TestDoesNotUnderstandHook(t *testing.T) {
	hook := &recordingHook{}
	im, err := uvm.Open("", uvm.Options{InMemory: true, DoesNotUnderstand: hook})
	require.NoError(t, err)
	defer im.Close()
	var oid uvm.OID
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
		o, _ := tx.New()
		oid = o.OID()
		return nil
	}))
	v, err := im.Send(ctx, oid, "greet_the_architect", 7)
	require.NoError(t, err)
	require.Equal(t, "handled greet_the_architect", v)
	require.Equal(t, []string{fmt.Sprintf("%d greet_the_architect [7]", oid)}, hook.msgs)
}

func TestSourceMethodWithoutRunner(t *testing.T) {
	im := memImage(t)
	err := im.Update(ctx, func(tx *uvm.Tx) error {
		o, _ := tx.New()
		if _, err := tx.InstallMethod(o, uvm.Method{Selector: "hi", Source: "package m"}); err != nil {
			return err
		}
		_, err := tx.Send(ctx, o, "hi")
		return err
	})
	require.ErrorIs(t, err, uvm.ErrNoRunner)
}

func TestSendDepthLimit(t *testing.T) {
	im, err := uvm.Open("", uvm.Options{InMemory: true, MaxSendDepth: 50})
	require.NoError(t, err)
	defer im.Close()
	require.NoError(t, im.RegisterPrimitive("again", func(ctx context.Context, c *uvm.Call) (any, error) {
		return c.Tx.Send(ctx, c.Receiver, "again")
	}))
	err = im.Update(ctx, func(tx *uvm.Tx) error {
		o, _ := tx.New()
		o.Set("again", uvm.Primitive{Name: "again"})
		_, err := tx.Send(ctx, o, "again")
		return err
	})
	require.ErrorIs(t, err, uvm.ErrTooDeep)
}

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

func TestCovenant(t *testing.T) {
	forEachImage(t, func(t *testing.T, im *uvm.Image) {
		var oid uvm.OID
		require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
			o, _ := tx.New()
			oid = o.OID()
			require.NoError(t, o.Set("tags", []any{"a"}))
			return o.Set("counts", map[string]any{"x": int64(1)})
		}))
		snapshot := backup(t, im)

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
			require.Equal(t, snapshot, backup(t, im), "image unchanged")
		})
		t.Run("in-place slice change with mark commits", func(t *testing.T) {
			require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
				o, _ := tx.Object(oid)
				s, _ := o.Get("tags")
				s.([]any)[0] = "b"
				o.MarkChanged()
				return nil
			}))
			im.View(ctx, func(tx *uvm.Tx) error {
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
				o.Set("sloppy", uvm.Primitive{Name: "sloppy"})
				return o.Set("careful", uvm.Primitive{Name: "careful"})
			}))
			before := backup(t, im)
			_, err := im.Send(ctx, oid, "sloppy")
			require.ErrorIs(t, err, uvm.ErrCovenant)
			require.Equal(t, before, backup(t, im))
			_, err = im.Send(ctx, oid, "careful")
			require.NoError(t, err)
		})
	})
}

func backup(t *testing.T, im *uvm.Image) string {
	t.Helper()
	fp, err := im.Fingerprint(ctx)
	require.NoError(t, err)
	return fp
}

// installingHook answers a message nobody understands the way the cycle
// does: it commits a primitive on the receiver in a transaction of its
// own, then restarts the sender's transaction so it finds it by lookup.
type installingHook struct {
	im       *uvm.Image
	always   bool // restart even when nothing was installed (a broken hook)
	installs int
}

func (h *installingHook) DoesNotUnderstand(ctx context.Context, m *uvm.Message) (any, error) {
	if !h.always {
		h.installs++
		err := h.im.Update(ctx, func(tx *uvm.Tx) error {
			o, err := tx.Object(m.Receiver.OID())
			if err != nil {
				return err
			}
			return o.Set(m.Selector, uvm.Primitive{Name: "answer"})
		})
		if err != nil {
			return nil, err
		}
	}
	return nil, m.Tx.Restart("installed " + m.Selector)
}

func TestRestartRunsTheSenderAgainOnAFreshSnapshot(t *testing.T) {
	hook := &installingHook{}
	im, err := uvm.Open("", uvm.Options{InMemory: true, DoesNotUnderstand: hook})
	require.NoError(t, err)
	defer im.Close()
	hook.im = im
	calls := 0
	require.NoError(t, im.RegisterPrimitive("answer", func(ctx context.Context, c *uvm.Call) (any, error) {
		calls++
		n, _ := c.Receiver.Get("n")
		k, _ := n.(int64)
		return k + 1, c.Receiver.Set("n", k+1)
	}))
	var oid uvm.OID
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
		o, err := tx.New()
		oid = o.OID()
		return err
	}))

	runs := 0
	var got any
	err = im.Update(ctx, func(tx *uvm.Tx) error {
		runs++
		o, err := tx.Object(oid)
		if err != nil {
			return err
		}
		got, err = tx.Send(ctx, o, "count")
		return err
	})
	require.NoError(t, err)
	require.Equal(t, int64(1), got)
	require.Equal(t, 2, runs, "the function ran again after the install")
	require.Equal(t, 1, calls, "the method ran once, on the fresh snapshot, not also on the stale one")
	require.Equal(t, 1, hook.installs)

	// A sender that swallows the error still restarts.
	runs = 0
	require.NoError(t, im.View(ctx, func(tx *uvm.Tx) error {
		runs++
		o, err := tx.Object(oid)
		if err != nil {
			return err
		}
		_, _ = tx.Send(ctx, o, "other")
		return nil
	}))
	require.Equal(t, 2, runs)

	// A hook that restarts for ever is stopped.
	hook.always = true
	runs = 0
	err = im.Update(ctx, func(tx *uvm.Tx) error {
		runs++
		o, err := tx.Object(oid)
		if err != nil {
			return err
		}
		_, err = tx.Send(ctx, o, "never")
		return err
	})
	require.ErrorIs(t, err, uvm.ErrRestart)
	require.Contains(t, err.Error(), "never")
	require.Equal(t, uvm.MaxRestarts+1, runs)
}

// TestDeepAmbiguity builds o → p → {a, b}, a and b both holding "speak":
// the ambiguity arises at p, two levels above the receiver.
func TestDeepAmbiguity(t *testing.T) {
	im := memImage(t)
	require.NoError(t, im.RegisterPrimitive("who", func(ctx context.Context, c *uvm.Call) (any, error) {
		return []any{int64(c.Receiver.OID()), int64(c.Holder.OID())}, nil
	}))
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
		a, _ := tx.New()
		b, _ := tx.New()
		require.NoError(t, a.Set("speak", "a"))
		require.NoError(t, b.Set("speak", "b"))
		require.NoError(t, a.Set("who", uvm.Primitive{Name: "who"}))
		require.NoError(t, b.Set("who", uvm.Primitive{Name: "who"}))
		p, _ := tx.New()
		require.NoError(t, p.SetParents(a, b))
		o, _ := tx.New()
		require.NoError(t, o.SetParents(p))
		child, _ := tx.New()
		require.NoError(t, child.SetParents(o))
		gone, _ := tx.New()
		require.NoError(t, tx.Delete(gone))
		o2, _ := tx.New() // a dangling first parent, then p
		require.NoError(t, o2.Set(uvm.ParentsSlot, []any{gone.Ref(), p.Ref()}))
		stranger, _ := tx.New()

		checkAmb := func(t *testing.T, err error, recv, fork *uvm.Object) {
			t.Helper()
			require.ErrorIs(t, err, uvm.ErrAmbiguous)
			var amb *uvm.AmbiguousError
			require.ErrorAs(t, err, &amb)
			require.Equal(t, recv.OID(), amb.Receiver, "Receiver: got %d, want the object sent to, %d", amb.Receiver, recv.OID())
			require.Equal(t, fork.OID(), amb.Fork, "Fork: got %d, want %d", amb.Fork, fork.OID())
			require.Equal(t, []uvm.OID{a.OID(), b.OID()}, amb.Holders)
			require.Equal(t, "speak", amb.Selector)
			require.Contains(t, err.Error(), fmt.Sprintf("sent to object %d", recv.OID()))
			require.Contains(t, err.Error(), fmt.Sprintf("ancestor %d", fork.OID()))
		}

		t.Run("error names the receiver and the fork", func(t *testing.T) {
			_, err := tx.Send(ctx, o, "speak")
			checkAmb(t, err, o, p)
			_, err = tx.Lookup(child, "speak")
			checkAmb(t, err, child, p)
			// Through p itself it is still ambiguous, and still o's message.
			_, err = tx.SendVia(ctx, o, p.OID(), "speak")
			checkAmb(t, err, o, p)
		})

		t.Run("SendVia through any ancestor", func(t *testing.T) {
			cases := []struct {
				name     string
				recv     *uvm.Object
				ancestor *uvm.Object
				want     any
			}{
				{"grandparent a", o, a, "a"},
				{"grandparent b", o, b, "b"},
				{"three levels up", child, b, "b"},
				{"past a missing parent", o2, a, "a"},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					v, err := tx.SendVia(ctx, c.recv, c.ancestor.OID(), "speak")
					require.NoError(t, err)
					require.Equal(t, c.want, v)
				})
			}
			// The method runs with o as receiver, b as holder.
			v, err := tx.SendVia(ctx, o, b.OID(), "who")
			require.NoError(t, err)
			require.Equal(t, []any{int64(o.OID()), int64(b.OID())}, v)
		})

		t.Run("not an ancestor", func(t *testing.T) {
			for name, oid := range map[string]uvm.OID{
				"stranger":   stranger.OID(),
				"itself":     o.OID(),
				"descendant": child.OID(),
				"never made": 1 << 40,
			} {
				_, err := tx.SendVia(ctx, o, oid, "speak")
				require.ErrorIs(t, err, uvm.ErrNotParent, name)
			}
			_, err := tx.SendVia(ctx, o2, gone.OID(), "speak")
			require.ErrorIs(t, err, uvm.ErrNotFound, "a named parent that is gone")
		})
		return nil
	}))
}

func TestIsBehaviour(t *testing.T) {
	im := memImage(t)
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

func TestTxValuesLastOneAttempt(t *testing.T) {
	im := memImage(t)
	type key struct{}
	var seen []any
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
		seen = append(seen, tx.Value(key{}))
		tx.SetValue(key{}, len(seen))
		require.Equal(t, len(seen), tx.Value(key{}))
		if len(seen) == 1 {
			return tx.Restart("once")
		}
		return nil
	}))
	require.Equal(t, []any{nil, nil}, seen, "a restarted attempt starts with no values")
}
