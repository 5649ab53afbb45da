package psm

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/require"
)

// unlearningKnowledge is fakeKnowledge whose first Learn, inside the
// install's transaction, first commits from another goroutine a change
// to the same object that removes its slot gone: the install conflicts,
// and the image it validates again on lacks that method.
type unlearningKnowledge struct {
	fakeKnowledge
	im   func() *uvm.Image
	gone string
	n    atomic.Int64
}

func (k *unlearningKnowledge) Learn(ctx context.Context, tx *uvm.Tx, oid uvm.OID, m uvm.Method) error {
	if k.n.Add(1) == 1 {
		done := make(chan error, 1)
		go func() {
			done <- k.im().Update(ctx, func(tx *uvm.Tx) error {
				o, err := tx.Object(oid)
				if err != nil {
					return err
				}
				if err := o.Set("meddled", int64(1)); err != nil {
					return err
				}
				return o.Delete(k.gone)
			})
		}()
		if err := <-done; err != nil {
			return err
		}
	}
	return k.fakeKnowledge.Learn(ctx, tx, oid, m)
}

// Validating again after a conflict asks the model nothing: when the dry
// run on the fresh snapshot needs a method that neither the image nor a
// nested cycle of the attempt has (a concurrent commit removed it), the
// install fails with uvm.ErrConflict at once, without starting a nested
// cycle (which would ask the model).
func TestRevalidationStartsNoCycle(t *testing.T) {
	ctx := context.Background()
	s := &script{replies: []string{plan, "CODE\nSEND nickname", plan, "CODE\nANSWER BRICK"}}
	m, _ := testMind(t, s, Options{})
	k := &unlearningKnowledge{im: m.Image, gone: "nickname"}
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
