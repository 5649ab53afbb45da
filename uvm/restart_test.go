package uvm_test

import (
	"context"
	"testing"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/require"
)

// installingHook answers a message nobody understands by installing an
// answer: it commits a primitive on the receiver in a transaction of its
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
	im := uvmtest.Mem(t, uvm.Options{DoesNotUnderstand: hook})
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
	err := im.Update(ctx, func(tx *uvm.Tx) error {
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

func TestTxValuesLastOneAttempt(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{})
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
