package live_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live"
)

var errTooMany = errors.New("too many ticks")

// A host primitive bounds what one top-level call of a generated method
// may ask of it, across the sends nested in the call, in any mix of
// policies: past its bound it fails the whole call, whatever the method
// does with the error.
func TestScopeBoundsAPrimitive(t *testing.T) {
	const limit = 3
	loopSrc := `package m

import "batos"

// loop ticks a hundred times through its helper, ignoring failures.
func loop(self batos.Self, args []any) (any, error) {
	for i := 0; i < 100; i++ {
		self.Send("helper")
	}
	return "done", nil
}
`
	helperSrc := `package m

import "batos"

func helper(self batos.Self, args []any) (any, error) {
	return self.Send("tick")
}
`
	for _, outer := range policies {
		for _, inner := range policies {
			t.Run(outer+"/"+inner, func(t *testing.T) {
				im, r := newImage(t, live.Options{Workers: 1})
				var scopes []string
				require.NoError(t, im.RegisterPrimitive("tick", func(ctx context.Context, c *uvm.Call) (any, error) {
					s := live.ScopeOf(ctx)
					if s == nil {
						return "no scope", nil
					}
					scopes = append(scopes, s.Method())
					if n := s.Add("ticks", 1); n > limit {
						err := fmt.Errorf("%s: %w (limit %d)", s.Method(), errTooMany, limit)
						s.Fail(err)
						return nil, err
					}
					return s.Count("ticks"), nil
				}))
				var oid uvm.OID
				require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
					o, err := tx.New()
					if err != nil {
						return err
					}
					oid = o.OID()
					if err := o.Set("tick", uvm.Primitive{Name: "tick"}); err != nil {
						return err
					}
					if _, err := r.Install(ctx, tx, o, uvm.Method{Selector: "loop", Source: loopSrc, Policy: outer}); err != nil {
						return err
					}
					_, err = r.Install(ctx, tx, o, uvm.Method{Selector: "helper", Source: helperSrc, Policy: inner})
					return err
				}))
				v, err := im.Send(ctx, oid, "helper")
				require.NoError(t, err)
				require.Equal(t, int64(1), v, "a top-level call has a scope of its own")

				v, err = im.Send(ctx, oid, "loop")
				require.ErrorIs(t, err, errTooMany, "the call fails, though the method ignored the errors (answer %v)", v)
				require.Contains(t, err.Error(), `"loop" v1`, "the scope is named after the top-level method")
				require.Len(t, scopes, 1+100)
				for _, s := range scopes[1:] {
					require.Equal(t, `"loop" v1`, s)
				}

				v, err = im.Send(ctx, oid, "tick")
				require.NoError(t, err)
				require.Equal(t, "no scope", v, "host code is in no scope")
			})
		}
	}
}
