package psm_test

import (
	"testing"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/require"
)

const innerSrc = `package m

import "batos"

// inner answers.
func inner(self batos.Self, args []any) (any, error) {
	return "inner answered", nil
}`

// Sends that cannot see a method by lookup even on a fresh snapshot are
// answered in place, not restarted for ever.
func TestNoRestartLoops(t *testing.T) {
	t.Run("SendVia an ancestor of a method installed on the receiver", func(t *testing.T) {
		m := memMind(t, persona.NewScripted([]persona.Reply{plan("inner"), {Persona: "ALFRED", Text: code(innerSrc)}}), nil)
		var child uvm.OID
		require.NoError(t, m.Image().Update(ctx, func(tx *uvm.Tx) error {
			g, err := tx.Object(m.Genesis())
			if err != nil {
				return err
			}
			c, err := tx.New()
			if err != nil {
				return err
			}
			child = c.OID()
			return c.SetParents(g)
		}))
		runs := 0
		var v any
		err := m.Image().Update(ctx, func(tx *uvm.Tx) error {
			runs++
			c, err := tx.Object(child)
			if err != nil {
				return err
			}
			v, err = tx.SendVia(ctx, c, m.Genesis(), "inner")
			return err
		})
		require.NoError(t, err)
		require.Equal(t, "inner answered", v)
		require.Equal(t, 2, runs, "one restart, after the install")
	})
	t.Run("explicit doesNotUnderstand of a known selector", func(t *testing.T) {
		m := memMind(t, persona.NewScripted(nil), nil)
		require.NoError(t, m.Image().Update(ctx, func(tx *uvm.Tx) error {
			g, err := tx.Object(m.Genesis())
			if err != nil {
				return err
			}
			_, err = tx.InstallMethod(g, uvm.Method{Selector: "inner", Source: innerSrc})
			return err
		}))
		runs := 0
		var v any
		err := m.Image().Update(ctx, func(tx *uvm.Tx) error {
			runs++
			g, err := tx.Object(m.Genesis())
			if err != nil {
				return err
			}
			v, err = tx.Send(ctx, g, "doesNotUnderstand", "inner")
			return err
		})
		require.NoError(t, err)
		require.Equal(t, "inner answered", v)
		require.Equal(t, 1, runs)
	})
}
