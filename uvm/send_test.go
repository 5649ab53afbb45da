package uvm_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/require"
)

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
	im := uvmtest.Mem(t, uvm.Options{})
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

// TestDeepAmbiguity builds o → p → {a, b}, a and b both holding "speak":
// the ambiguity arises at p, two levels above the receiver.
func TestDeepAmbiguity(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{})
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

func TestPrimitives(t *testing.T) {
	dir := t.TempDir()
	register := func(im *uvm.Image) *uvm.Image {
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
	im := register(uvmtest.Disk(t, dir, uvm.Options{NoSync: true}))
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

	// The slot names the primitive; the image survives the restart.
	im = register(uvmtest.Reopen(t, im, dir, uvm.Options{NoSync: true}))
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
	im := uvmtest.Mem(t, uvm.Options{DoesNotUnderstand: hook})
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
	im := uvmtest.Mem(t, uvm.Options{})
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
	im := uvmtest.Mem(t, uvm.Options{MaxSendDepth: 50})
	require.NoError(t, im.RegisterPrimitive("again", func(ctx context.Context, c *uvm.Call) (any, error) {
		return c.Tx.Send(ctx, c.Receiver, "again")
	}))
	err := im.Update(ctx, func(tx *uvm.Tx) error {
		o, _ := tx.New()
		require.NoError(t, o.Set("again", uvm.Primitive{Name: "again"}))
		_, err := tx.Send(ctx, o, "again")
		return err
	})
	require.ErrorIs(t, err, uvm.ErrTooDeep)
}
