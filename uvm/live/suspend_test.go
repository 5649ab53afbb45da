package live_test

import (
	"context"
	"testing"
	"time"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live"
	"github.com/stretchr/testify/require"
)

// A method ("outer") sends to another isolated method ("inner") that runs
// nested in the same worker; inner's send is suspended (a cycle). The time
// held is not inner's, and it is not outer's either.
func TestSuspendedTimeIsNotChargedToEnclosingRuns(t *testing.T) {
	for _, policy := range policies {
		t.Run(policy, func(t *testing.T) {
			im, r := newImage(t, live.Options{Policy: policy, Workers: 1, Timeout: 300 * time.Millisecond})
			require.NoError(t, im.RegisterPrimitive("suspended", func(ctx context.Context, c *uvm.Call) (any, error) {
				defer live.Suspend(ctx)()
				time.Sleep(500 * time.Millisecond)
				return "waited", nil
			}))
			var oid uvm.OID
			require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
				o, err := tx.New()
				if err != nil {
					return err
				}
				oid = o.OID()
				if err := o.Set("suspended", uvm.Primitive{Name: "suspended"}); err != nil {
					return err
				}
				inner := "\treturn self.Send(\"suspended\")"
				if _, err = r.Install(ctx, tx, o, uvm.Method{Selector: "inner", Source: methodSource("inner", inner)}); err != nil {
					return err
				}
				body := "\tv, err := self.Send(\"inner\")\n\tif err != nil {\n\t\treturn nil, err\n\t}\n\tn := 0\n\tfor i := 0; i < 100000; i++ {\n\t\tn += i\n\t}\n\treturn v, nil"
				_, err = r.Install(ctx, tx, o, uvm.Method{Selector: "outer", Source: methodSource("outer", body)})
				return err
			}))
			v, err := im.Send(ctx, oid, "outer")
			require.NoError(t, err)
			require.Equal(t, "waited", v)
		})
	}
}
