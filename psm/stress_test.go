package psm_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countSrc is a method for sel that counts its calls in a slot of its
// receiver's own (named by the receiver's OID, so no parent holds it)
// and answers its own name.
func countSrc(sel string) string {
	return fmt.Sprintf(`package m

import (
	"strconv"

	"batos"
)

// %[1]s counts its calls on the receiver and answers its name.
func %[1]s(self batos.Self, args []any) (any, error) {
	defer self.MarkChanged()
	slot := "count_%[1]s_" + strconv.FormatUint(uint64(self.OID()), 10)
	n, _ := self.Get(slot).(int64)
	if err := self.Set(slot, n+1); err != nil {
		return nil, err
	}
	return %[1]q, nil
}`, sel)
}

// Many senders at once over overlapping objects and selectors, with an
// instant model, on a durable image: every acknowledged send ran its
// method exactly once (no lost update), every completed cycle's method
// is in the image as the version it recorded, versions are contiguous,
// and no method is installed twice.
func TestStressManySenders(t *testing.T) {
	const senders, each = 8, 50
	model := &selectorModel{src: countSrc}
	m, err := psm.Open(ctx, t.TempDir(), psm.Options{Model: model, Policy: psm.Policy{AllowNearMisses: true}, MaxAttempts: 1, Live: live.Options{Policy: psm.PolicyInProcess}})
	require.NoError(t, err)
	defer closeWithin(t, m, 20*time.Second)

	// Genesis and three children of it: a selector installed on genesis
	// answers on the children too, so some sends find a method that
	// another object's cycle installed.
	objs := []uvm.OID{m.Genesis()}
	require.NoError(t, m.Image().Update(ctx, func(tx *uvm.Tx) error {
		g, err := tx.Object(m.Genesis())
		if err != nil {
			return err
		}
		for range 3 {
			o, err := tx.New()
			if err != nil {
				return err
			}
			if err := o.SetParents(g); err != nil {
				return err
			}
			objs = append(objs, o.OID())
		}
		return nil
	}))
	sels := make([]string, 10)
	for i := range sels {
		sels[i] = fmt.Sprintf("task_%c", 'a'+i)
	}

	start := time.Now()
	var mu sync.Mutex
	acked := map[string]int{} // "oid/sel" → acknowledged sends
	var failures []error
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			for i := range each {
				oid := objs[(g+i)%len(objs)]
				sel := sels[(g*7+i*3)%len(sels)]
				v, err := m.Send(ctx, oid, sel)
				mu.Lock()
				if err != nil {
					failures = append(failures, fmt.Errorf("sender %d, send %d: %s to object %d: %w", g, i, sel, oid, err))
				} else {
					assert.Equal(t, sel, v, "sender %d, send %d", g, i)
					acked[fmt.Sprintf("%d/%s", oid, sel)]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Logf("%d sends in %v, %d model calls, %d failed", senders*each, time.Since(start).Round(time.Millisecond), model.calls.Load(), len(failures))
	for _, err := range failures {
		t.Log(err)
		// A send may lose to its peers' commits more often than uvm
		// retries; nothing else may fail it.
		require.ErrorIs(t, err, uvm.ErrConflict)
	}
	require.LessOrEqual(t, len(failures), senders*each/20, "failed sends: %v", failures)

	recs, err := m.Cycles(ctx)
	require.NoError(t, err)
	completed := map[string]psm.Record{}
	for _, rec := range recs {
		key := fmt.Sprintf("%d/%s", rec.Mission.Target, rec.Mission.Selector)
		require.Equal(t, psm.Complete, rec.Outcome, "cycle %s for %s: %s", rec.ID, key, rec.Error)
		_, dup := completed[key]
		require.False(t, dup, "two cycles completed for %s", key)
		completed[key] = rec
	}
	counted := 0
	require.NoError(t, m.Image().View(ctx, func(tx *uvm.Tx) error {
		for _, oid := range objs {
			o, err := tx.Object(oid)
			if err != nil {
				return err
			}
			for _, sel := range sels {
				vs, err := tx.MethodVersions(o, sel)
				if err != nil {
					return err
				}
				key := fmt.Sprintf("%d/%s", oid, sel)
				rec, ok := completed[key]
				if len(vs) == 0 {
					assert.False(t, ok, "cycle %s completed %s, which the image lacks", rec.ID, key)
					continue
				}
				assert.Len(t, vs, 1, "%s: installed once", key)
				for i, v := range vs {
					assert.Equal(t, i+1, v.Version, "%s: versions contiguous", key)
				}
				if assert.True(t, ok, "%s installed by no completed cycle", key) {
					assert.Equal(t, rec.ID, vs[0].CycleID, "%s: the version's cycle", key)
					assert.Equal(t, rec.Version, vs[0].Version, "%s: the record's version", key)
				}
			}
			for _, sel := range sels {
				v, _ := o.Get(fmt.Sprintf("count_%s_%d", sel, oid))
				n, _ := v.(int64)
				assert.Equal(t, int64(acked[fmt.Sprintf("%d/%s", oid, sel)]), n, "object %d: calls of %s counted, want the acknowledged sends", oid, sel)
				counted += int(n)
			}
		}
		return nil
	}))
	total := 0
	for _, n := range acked {
		total += n
	}
	require.Equal(t, total, counted, "every acknowledged send counted once, none lost")
	require.NotEmpty(t, completed)
	t.Logf("%d cycles completed", len(completed))
}
