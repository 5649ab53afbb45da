package psm

import (
	"context"
	"testing"

	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/require"
)

// Validating again after a conflict asks the model nothing: when the dry
// run on the fresh snapshot needs a method that neither the image nor a
// nested cycle of the attempt has (a concurrent commit removed it), the
// install fails with uvm.ErrConflict at once, without starting a nested
// cycle (which would ask the model).
func TestRevalidationStartsNoCycle(t *testing.T) {
	ctx := context.Background()
	s := &script{replies: []string{plan, "CODE\nSEND nickname", plan, "CODE\nANSWER BRICK"}}
	m, _ := testMind(t, s, Options{})
	k := &meddlingKnowledge{im: m.Image, times: 1, gone: "nickname"}
	m.knowledge = k
	require.NoError(t, m.im.Update(ctx, func(tx *uvm.Tx) error {
		g, err := tx.Object(m.Genesis())
		if err != nil {
			return err
		}
		_, err = tx.InstallMethod(g, uvm.Method{Selector: "nickname", Source: "ANSWER ROBIN"})
		return err
	}))

	_, err := m.Send(ctx, m.Genesis(), "greet")
	require.ErrorIs(t, err, ErrCycleFailed)
	require.ErrorIs(t, err, uvm.ErrConflict)
	require.Equal(t, int64(2), s.calls.Load(), "model calls: the plan and one synthesis, none after the conflict")
	recs, err := m.Cycles(ctx)
	require.NoError(t, err)
	require.Len(t, recs, 1, "no nested cycle started while validating again")
	require.Equal(t, Failed, recs[0].Outcome)
	require.Equal(t, Complete, recs[0].FailedIn)
	require.Len(t, recs[0].Conflicts, 1)
	_, ok := methodOn(t, m, "greet")
	require.False(t, ok, "nothing installed")
}
