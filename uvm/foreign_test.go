package uvm_test

import (
	"context"
	"errors"
	"testing"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/require"
)

// answerRunner runs every source method by answering its selector.
type answerRunner struct{}

func (answerRunner) Run(ctx context.Context, c *uvm.Call) (any, error) { return c.Selector, nil }

// answerHook answers every message nobody understands with "dnu".
type answerHook struct{}

func (answerHook) DoesNotUnderstand(ctx context.Context, m *uvm.Message) (any, error) {
	return "dnu", nil
}

var errDiscard = errors.New("discard this attempt")

// TestForeignObjectsAreRefused hands every operation that takes an *Object
// an object of another transaction, finished or running alongside, and
// checks that it is refused with a *ForeignObjectError naming the object
// and the operation, while the same call with the transaction's own object
// succeeds.
func TestForeignObjectsAreRefused(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{Runner: answerRunner{}, DoesNotUnderstand: answerHook{}})
	require.NoError(t, im.RegisterPrimitive("echo", func(ctx context.Context, c *uvm.Call) (any, error) {
		return len(c.Args), nil
	}))

	var finished *uvm.Object // belongs to the setup transaction, which has ended
	var aOID, pOID uvm.OID
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
		p, _ := tx.New()
		require.NoError(t, p.Set("y", "from the parent"))
		a, _ := tx.New()
		require.NoError(t, a.SetParents(p))
		require.NoError(t, a.Set("x", "hello"))
		require.NoError(t, a.Set("echo", uvm.Primitive{Name: "echo"}))
		_, err := tx.InstallMethod(a, uvm.Method{Selector: "m", Source: "package m"})
		require.NoError(t, err)
		finished, aOID, pOID = a, a.OID(), p.OID()
		return nil
	}))
	method := uvm.Method{Selector: "m", Source: "package m"}

	cases := []struct {
		name, op string
		// call uses o, the object under test, in tx; own is tx's own
		// copy of the same object.
		call func(tx *uvm.Tx, o, own *uvm.Object) error
	}{
		{"Tx.Clone", "Tx.Clone", func(tx *uvm.Tx, o, _ *uvm.Object) error { _, err := tx.Clone(o); return err }},
		{"Tx.Delete", "Tx.Delete", func(tx *uvm.Tx, o, _ *uvm.Object) error { return tx.Delete(o) }},
		{"Tx.SetRoot", "Tx.SetRoot", func(tx *uvm.Tx, o, _ *uvm.Object) error { return tx.SetRoot("r", o) }},
		{"Tx.Lookup", "Tx.Lookup", func(tx *uvm.Tx, o, _ *uvm.Object) error { _, err := tx.Lookup(o, "x"); return err }},
		{"Tx.Send", "Tx.Send", func(tx *uvm.Tx, o, _ *uvm.Object) error { _, err := tx.Send(ctx, o, "x"); return err }},
		{"Tx.Send argument", "Tx.Send", func(tx *uvm.Tx, o, own *uvm.Object) error { _, err := tx.Send(ctx, own, "echo", 1, o); return err }},
		{"Tx.Send argument to hook", "Tx.Send", func(tx *uvm.Tx, o, own *uvm.Object) error {
			_, err := tx.Send(ctx, own, "nobody", []any{o}) // through the DoesNotUnderstand hook
			return err
		}},
		{"Tx.Run", "Tx.Run", func(tx *uvm.Tx, o, _ *uvm.Object) error { _, err := tx.Run(ctx, o, method); return err }},
		{"Tx.Run argument", "Tx.Run", func(tx *uvm.Tx, o, own *uvm.Object) error { _, err := tx.Run(ctx, own, method, o); return err }},
		{"Tx.SendVia", "Tx.SendVia", func(tx *uvm.Tx, o, _ *uvm.Object) error { _, err := tx.SendVia(ctx, o, pOID, "y"); return err }},
		{"Tx.SendVia argument", "Tx.SendVia", func(tx *uvm.Tx, o, own *uvm.Object) error {
			_, err := tx.SendVia(ctx, own, pOID, "echo", map[string]any{"k": o})
			return err
		}},
		{"Tx.InstallMethod", "Tx.InstallMethod", func(tx *uvm.Tx, o, _ *uvm.Object) error { _, err := tx.InstallMethod(o, method); return err }},
		{"Tx.MethodVersions", "Tx.MethodVersions", func(tx *uvm.Tx, o, _ *uvm.Object) error { _, err := tx.MethodVersions(o, "m"); return err }},
		{"Tx.MethodVersion", "Tx.MethodVersion", func(tx *uvm.Tx, o, _ *uvm.Object) error { _, err := tx.MethodVersion(o, "m", 1); return err }},
		{"Tx.RevertMethod", "Tx.RevertMethod", func(tx *uvm.Tx, o, _ *uvm.Object) error { _, err := tx.RevertMethod(o, "m", 1); return err }},
		{"Object.SetParents", "Object.SetParents", func(tx *uvm.Tx, o, own *uvm.Object) error {
			child, err := tx.New() // not own: an object may not be its own parent
			require.NoError(t, err)
			return child.SetParents(o)
		}},
		{"Object.Set value", "Object.Set", func(tx *uvm.Tx, o, own *uvm.Object) error { return own.Set("friend", o) }},
		{"Object.Set nested value", "Object.Set", func(tx *uvm.Tx, o, own *uvm.Object) error { return own.Set("friends", []any{int64(1), o}) }},
	}

	// withOwn runs fn in a fresh Update that is then discarded, with the
	// transaction's own copy of the object.
	withOwn := func(t *testing.T, fn func(tx *uvm.Tx, own *uvm.Object) error) error {
		var got error
		err := im.Update(ctx, func(tx *uvm.Tx) error {
			own, err := tx.Object(aOID)
			require.NoError(t, err)
			got = fn(tx, own)
			return errDiscard
		})
		require.ErrorIs(t, err, errDiscard)
		return got
	}
	checkForeign := func(t *testing.T, err error, op string, ended bool) {
		t.Helper()
		require.ErrorIs(t, err, uvm.ErrForeignObject)
		var fe *uvm.ForeignObjectError
		require.ErrorAs(t, err, &fe)
		require.Equal(t, aOID, fe.OID, "got OID %d, want %d", fe.OID, aOID)
		require.Equal(t, op, fe.Op)
		require.Equal(t, ended, fe.Ended)
		require.Equal(t, ended, errors.Is(err, uvm.ErrTxDone), "errors.Is ErrTxDone: got %v, want %v", !ended, ended)
		require.Contains(t, err.Error(), "belongs to another transaction")
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Run("own", func(t *testing.T) {
				require.NoError(t, withOwn(t, func(tx *uvm.Tx, own *uvm.Object) error { return c.call(tx, own, own) }))
			})
			t.Run("finished", func(t *testing.T) {
				err := withOwn(t, func(tx *uvm.Tx, own *uvm.Object) error { return c.call(tx, finished, own) })
				checkForeign(t, err, c.op, true)
			})
			t.Run("alongside", func(t *testing.T) {
				err := withOwn(t, func(tx *uvm.Tx, own *uvm.Object) error {
					var got error
					require.NoError(t, im.View(ctx, func(other *uvm.Tx) error {
						o, err := other.Object(aOID)
						require.NoError(t, err)
						got = c.call(tx, o, own)
						return nil
					}))
					return got
				})
				checkForeign(t, err, c.op, false)
			})
		})
	}

	// The finished object's own methods still say the transaction ended.
	require.ErrorIs(t, finished.Set("x", 1), uvm.ErrTxDone)
	require.ErrorIs(t, finished.SetParents(), uvm.ErrTxDone)
	// Nothing of the refused calls reached the image.
	require.NoError(t, im.View(ctx, func(tx *uvm.Tx) error {
		a, err := tx.Object(aOID)
		require.NoError(t, err)
		require.Equal(t, []string{"echo", "m", "parents", "x"}, a.Slots())
		roots, err := tx.Roots()
		require.NoError(t, err)
		require.Empty(t, roots)
		return nil
	}))
}

// TestForeignObjectFromARestartedAttempt keeps an object created by the
// first attempt of an Update and uses it in the second: the object was
// never committed, and linking to it must fail rather than leave a parent
// reference to nothing.
func TestForeignObjectFromARestartedAttempt(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{})
	var stale *uvm.Object
	runs := 0
	err := im.Update(ctx, func(tx *uvm.Tx) error {
		runs++
		if runs == 1 {
			stale, _ = tx.New()
			return tx.Restart("test")
		}
		child, err := tx.New()
		require.NoError(t, err)
		return child.SetParents(stale)
	})
	require.Equal(t, 2, runs)
	require.ErrorIs(t, err, uvm.ErrForeignObject)
	var fe *uvm.ForeignObjectError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, stale.OID(), fe.OID)
	require.Equal(t, "Object.SetParents", fe.Op)
}
