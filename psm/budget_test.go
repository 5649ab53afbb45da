package psm_test

import (
	"testing"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/require"
)

const outerNeedsInner = `package m

import "batos"

// outer needs inner.
func outer(self batos.Self, args []any) (any, error) {
	return self.Send("inner")
}`

const greetNeedsInner = `package m

import "batos"

// greet needs inner.
func greet(self batos.Self, args []any) (any, error) {
	return self.Send("inner")
}`

// A model slower than a generated method's wall-clock budget: a cycle that
// the method's send started (installed method, or a candidate under dry
// run) must not be charged to the method, nor run on its worker.
func TestCycleTimeIsNotTheSendersBudget(t *testing.T) {
	slow := persona.Reply{Persona: "ALFRED", Delay: 1500 * time.Millisecond, Text: code(innerSrc)}
	t.Run("from an installed method", func(t *testing.T) {
		m := memMind(t, persona.NewScripted([]persona.Reply{plan("inner"), slow}), func(o *psm.Options) {
			o.MaxAttempts = 1
			o.Live.Timeout = time.Second
		})
		require.NoError(t, m.Image().Update(ctx, func(tx *uvm.Tx) error {
			g, err := tx.Object(m.Genesis())
			if err != nil {
				return err
			}
			_, err = tx.InstallMethod(g, uvm.Method{Selector: "outer", Source: outerNeedsInner, Policy: psm.PolicyIsolated})
			return err
		}))
		v, err := m.Send(ctx, m.Genesis(), "outer")
		require.NoError(t, err)
		require.Equal(t, "inner answered", v)
	})
	t.Run("from a dry run", func(t *testing.T) {
		m := memMind(t, persona.NewScripted([]persona.Reply{
			plan("greet"), {Persona: "ALFRED", Text: code(greetNeedsInner)}, plan("inner"), slow,
		}), func(o *psm.Options) {
			o.MaxAttempts = 1
			o.Live.Timeout = time.Second
		})
		v, err := m.Send(ctx, m.Genesis(), "greet")
		require.NoError(t, err)
		require.Equal(t, "inner answered", v)
	})
}
