package live_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live"
)

const spinSrc = `package spin

import "batos"

func spin(self batos.Self, args []any) (any, error) {
	n := 0
	for i := 0; i < 100000; i++ {
		n += i
	}
	return n, nil
}
`

// burst sends spin from 8 goroutines at once and waits for them all.
func burst(t *testing.T, im *uvm.Image, oid uvm.OID) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := im.Send(ctx, oid, "spin")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// Workers started beyond the warm set for concurrent calls stay for
// WorkerIdle, so that a steady concurrent load reuses them rather than
// starting a process per call, and are ended once idle that long.
func TestPoolKeepsWorkersUnderLoad(t *testing.T) {
	im, r := newImage(t, live.Options{Policy: live.PolicyIsolated, Workers: 2, MaxWorkers: 8, WorkerIdle: 500 * time.Millisecond})
	oid := installNew(t, im, r, uvm.Method{Selector: "spin", Source: spinSrc})
	for range 5 {
		burst(t, im, oid)
	}
	st := r.Stats()
	t.Logf("after 5 bursts of 8: %d workers started, %d idle", st.WorkersStarted, st.IdleWorkers)
	require.Greater(t, st.WorkersStarted, int64(2), "the bursts ran calls at once: workers beyond the warm two started")
	require.LessOrEqual(t, st.WorkersStarted, int64(8), "workers are reused across bursts, not started per call")
	require.EqualValues(t, st.WorkersStarted, st.IdleWorkers, "every worker started is kept while the load lasts")
	require.Eventually(t, func() bool { return r.Stats().IdleWorkers == 2 }, 5*time.Second, 20*time.Millisecond,
		"idle workers beyond the warm set are ended after WorkerIdle")
	burst(t, im, oid) // the pool still serves, growing again
	require.Greater(t, r.Stats().WorkersStarted, st.WorkersStarted)
}

// With a negative WorkerIdle, a worker beyond the warm set ends as soon
// as its call returns.
func TestPoolWorkerIdleNegative(t *testing.T) {
	im, r := newImage(t, live.Options{Policy: live.PolicyIsolated, Workers: 2, MaxWorkers: 8, WorkerIdle: -1})
	oid := installNew(t, im, r, uvm.Method{Selector: "spin", Source: spinSrc})
	burst(t, im, oid)
	require.LessOrEqual(t, r.Stats().IdleWorkers, 2)
}
