package live_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live"
	"github.com/batos-dev/batos/uvm/uvmtest"
)

var ctx = context.Background()

const counterSrc = `package counter

import "batos"

func bump(self batos.Self, args []any) (any, error) {
	n, _ := self.Get("n").(int64)
	for i := 0; i < 3; i++ {
		n++
	}
	self.Set("n", n)
	self.MarkChanged()
	return n, nil
}
`

func newImage(t testing.TB, opts live.Options) (*uvm.Image, *live.Runner) {
	t.Helper()
	r, err := live.New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return uvmtest.Mem(t, uvm.Options{Runner: r}), r
}

// installNew creates an object and installs m on it through r.
func installNew(t testing.TB, im *uvm.Image, r *live.Runner, m uvm.Method) uvm.OID {
	t.Helper()
	var oid uvm.OID
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
		o, err := tx.New()
		if err != nil {
			return err
		}
		oid = o.OID()
		_, err = r.Install(ctx, tx, o, m)
		return err
	}))
	return oid
}

func TestBasic(t *testing.T) {
	for _, policy := range []string{live.PolicyInProcess, live.PolicyIsolated} {
		t.Run(policy, func(t *testing.T) {
			im, r := newImage(t, live.Options{Policy: policy})
			oid := installNew(t, im, r, uvm.Method{Selector: "bump", Source: counterSrc})
			for i := 1; i <= 3; i++ {
				v, err := im.Send(ctx, oid, "bump")
				require.NoError(t, err)
				require.Equal(t, int64(3*i), v)
			}
			if policy == live.PolicyIsolated {
				require.Eventually(t, func() bool { return r.Stats().IdleWorkers == 2 }, 5*time.Second, 10*time.Millisecond)
				require.Equal(t, 0, r.Stats().Compiled, "compiled in the host")
			} else {
				require.Equal(t, 1, r.Stats().Compiled)
			}
		})
	}
}
