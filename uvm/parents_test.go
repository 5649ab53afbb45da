package uvm_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newObjects creates n empty objects in one committed transaction.
func newObjects(t *testing.T, im *uvm.Image, n int) []uvm.OID {
	t.Helper()
	oids := make([]uvm.OID, n)
	uvmtest.Update(t, im, func(tx *uvm.Tx) error {
		for i := range oids {
			o, err := tx.New()
			if err != nil {
				return err
			}
			oids[i] = o.OID()
		}
		return nil
	})
	return oids
}

// load reads objects by OID in tx.
func load(t *testing.T, tx *uvm.Tx, oids ...uvm.OID) []*uvm.Object {
	t.Helper()
	out := make([]*uvm.Object, len(oids))
	for i, oid := range oids {
		o, err := tx.Object(oid)
		require.NoError(t, err)
		out[i] = o
	}
	return out
}

// requireCycle checks that err is a *ParentCycleError naming chain.
func requireCycle(t *testing.T, err error, chain ...uvm.OID) {
	t.Helper()
	require.ErrorIs(t, err, uvm.ErrParentCycle)
	var pc *uvm.ParentCycleError
	require.ErrorAs(t, err, &pc)
	require.Equal(t, chain, pc.Chain)
	want := "uvm: parent cycle:"
	for i, oid := range chain {
		if i > 0 {
			want += " →"
		}
		want += fmt.Sprintf(" %d", oid)
	}
	require.EqualError(t, pc, want)
}

func TestParentCycleRefused(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{})
	// a → b → c, committed.
	ids := newObjects(t, im, 4)
	a, b, c, d := ids[0], ids[1], ids[2], ids[3]
	uvmtest.Update(t, im, func(tx *uvm.Tx) error {
		o := load(t, tx, a, b)
		require.NoError(t, o[0].Set(uvm.ParentsSlot, []any{uvm.Ref{OID: b}}))
		return o[1].Set(uvm.ParentsSlot, uvm.Ref{OID: c})
	})
	cases := []struct {
		name  string
		set   func(tx *uvm.Tx) error
		chain []uvm.OID
	}{
		{"itself", func(tx *uvm.Tx) error {
			o := load(t, tx, d)[0]
			return o.SetParents(o)
		}, []uvm.OID{d, d}},
		{"itself among others", func(tx *uvm.Tx) error {
			o := load(t, tx, d, a)
			return o[0].Set(uvm.ParentsSlot, []any{o[1].Ref(), uvm.OID(d)})
		}, []uvm.OID{d, d}},
		{"through its parent", func(tx *uvm.Tx) error {
			o := load(t, tx, b, a)
			return o[0].SetParents(o[1])
		}, []uvm.OID{b, a, b}},
		{"through two ancestors", func(tx *uvm.Tx) error {
			o := load(t, tx, c, a)
			return o[0].Set(uvm.ParentsSlot, []any{o[1].Ref()})
		}, []uvm.OID{c, a, b, c}},
		{"as a single Ref", func(tx *uvm.Tx) error {
			o := load(t, tx, c)[0]
			return o.Set(uvm.ParentsSlot, uvm.Ref{OID: b})
		}, []uvm.OID{c, b, c}},
		{"through a parent set earlier in the transaction", func(tx *uvm.Tx) error {
			o := load(t, tx, c, d)
			require.NoError(t, o[1].SetParents(load(t, tx, a)[0]))
			return o[0].SetParents(o[1])
		}, []uvm.OID{c, d, a, b, c}},
		{"through the Self view of a method", func(tx *uvm.Tx) error {
			// Generated methods write through uvm.Self: uvm/live's host
			// Self calls it in-process, and an isolated worker's write-set
			// is applied through it.
			o := load(t, tx, c)[0]
			call := &uvm.Call{Tx: tx, Receiver: o}
			return call.Self(t.Context()).Set(uvm.ParentsSlot, []any{uvm.Ref{OID: a}})
		}, []uvm.OID{c, a, b, c}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := uvmtest.Fingerprint(t, im)
			err := im.Update(t.Context(), func(tx *uvm.Tx) error {
				o := load(t, tx, tc.chain[0])[0]
				parents := o.Parents()
				err := tc.set(tx)
				requireCycle(t, err, tc.chain...)
				assert.Equal(t, parents, o.Parents(), "the refused parents are not stored")
				return err
			})
			requireCycle(t, err, tc.chain...)
			require.Equal(t, before, uvmtest.Fingerprint(t, im), "the image is unchanged")
		})
	}
}

func TestParentChangesThatCloseNoCycle(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{})
	ids := newObjects(t, im, 4)
	top, left, right, child := ids[0], ids[1], ids[2], ids[3]
	uvmtest.Update(t, im, func(tx *uvm.Tx) error {
		o := load(t, tx, top, left, right, child)
		require.NoError(t, o[1].SetParents(o[0]))
		require.NoError(t, o[2].SetParents(o[0], o[0]), "a parent named twice is no cycle")
		require.NoError(t, o[3].SetParents(o[1], o[2]), "a diamond is no cycle")
		require.NoError(t, o[0].Set(uvm.ParentsSlot, []any{uvm.Ref{OID: 999999}}), "a missing parent is skipped")
		clone, err := tx.Clone(o[3])
		require.NoError(t, err)
		require.Equal(t, []uvm.OID{left, right}, clone.Parents())
		return nil
	})
}

func TestParentCycleInPlace(t *testing.T) {
	// A parents list handed out by Get and edited in place bypasses Set:
	// the commit (and CheckCovenant, which a dry run asks) checks it.
	im := uvmtest.Mem(t, uvm.Options{})
	ids := newObjects(t, im, 3)
	a, b, c := ids[0], ids[1], ids[2]
	uvmtest.Update(t, im, func(tx *uvm.Tx) error {
		o := load(t, tx, a, b)
		require.NoError(t, o[0].SetParents(o[1]))
		return o[1].Set(uvm.ParentsSlot, []any{uvm.Ref{OID: c}})
	})
	before := uvmtest.Fingerprint(t, im)

	err := im.Update(t.Context(), func(tx *uvm.Tx) error {
		o := load(t, tx, b)[0]
		v, _ := o.Get(uvm.ParentsSlot)
		v.([]any)[0] = uvm.Ref{OID: a}
		o.MarkChanged()
		requireCycle(t, tx.CheckCovenant(), b, a, b)
		return nil
	})
	requireCycle(t, err, b, a, b)

	err = im.Update(t.Context(), func(tx *uvm.Tx) error {
		o := load(t, tx, b)[0]
		v, _ := o.Get(uvm.ParentsSlot)
		v.([]any)[0] = "not a ref"
		o.MarkChanged()
		return nil
	})
	require.ErrorIs(t, err, uvm.ErrUnstorable)
	require.ErrorContains(t, err, `slot "parents"`)
	require.Equal(t, before, uvmtest.Fingerprint(t, im), "the image is unchanged")
}

func TestParentCycleAcrossConcurrentTransactions(t *testing.T) {
	// Two transactions each add one edge of a cycle, on the same snapshot:
	// each edge alone is fine, so each Set passes. The check read the other
	// object, so the later commit conflicts, runs again and is refused.
	im := uvmtest.Mem(t, uvm.Options{})
	ids := newObjects(t, im, 2)
	a, b := ids[0], ids[1]
	var ready sync.WaitGroup
	ready.Add(2)
	adopt := func(child, parent uvm.OID) error {
		first := true
		return im.Update(context.Background(), func(tx *uvm.Tx) error {
			o := load(t, tx, child, parent)
			if err := o[0].SetParents(o[1]); err != nil {
				return err
			}
			if first {
				first = false
				ready.Done()
				ready.Wait() // both have set, neither has committed
			}
			return nil
		})
	}
	errs := make(chan error, 2)
	go func() { errs <- adopt(a, b) }()
	go func() { errs <- adopt(b, a) }()
	e1, e2 := <-errs, <-errs
	if e1 != nil {
		e1, e2 = e2, e1
	}
	require.NoError(t, e1, "one edge commits")
	require.ErrorIs(t, e2, uvm.ErrParentCycle, "the other closes the cycle")
	uvmtest.View(t, im, func(tx *uvm.Tx) error {
		o := load(t, tx, a, b)
		require.Len(t, append(o[0].Parents(), o[1].Parents()...), 1, "exactly one edge stored")
		return nil
	})
}

// TestStoredParentCycleEnds: a cycle stored by an image written before cycles
// were refused still ends every lookup, and objects in it stay usable.
func TestStoredParentCycleEnds(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{})
	ids := newObjects(t, im, 4)
	a, b, c, self := ids[0], ids[1], ids[2], ids[3]
	require.NoError(t, uvm.StoreParentsUnchecked(im, a, b))
	require.NoError(t, uvm.StoreParentsUnchecked(im, b, c))
	require.NoError(t, uvm.StoreParentsUnchecked(im, c, a, a, b))
	require.NoError(t, uvm.StoreParentsUnchecked(im, self, self))
	uvmtest.Update(t, im, func(tx *uvm.Tx) error {
		o := load(t, tx, a, b, c, self)
		require.NoError(t, o[2].Set("x", "found"))
		_, err := tx.Lookup(o[0], "missing")
		require.ErrorIs(t, err, uvm.ErrNotUnderstood)
		f, err := tx.Lookup(o[0], "x")
		require.NoError(t, err)
		require.Equal(t, "found", f.Value)
		_, err = tx.Lookup(o[3], "missing")
		require.ErrorIs(t, err, uvm.ErrNotUnderstood)

		clone, err := tx.Clone(o[0])
		require.NoError(t, err, "a clone of an object in a cycle is not in it")
		require.Equal(t, []uvm.OID{b}, clone.Parents())
		_, err = tx.Lookup(clone, "x")
		require.NoError(t, err)
		requireCycle(t, o[3].SetParents(o[3]), self, self)
		return nil
	})
	uvmtest.Update(t, im, func(tx *uvm.Tx) error {
		o := load(t, tx, a)[0]
		return o.Set(uvm.ParentsSlot, nil) // breaking the cycle is allowed
	})
}
