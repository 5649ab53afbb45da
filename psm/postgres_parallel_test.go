package psm_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batos-dev/batos/memory"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Many cycles at once on an image in PostgreSQL: cycles for different
// selectors or objects run concurrently, in one kernel or in several,
// and every sender gets its method. A conflict at COMPLETE is retried on
// the same candidate; it never reaches the sender while tries are left.

// pgRun is what a round of concurrent sends observed.
type pgRun struct {
	sends, failed int
	conflicts     int // tries recorded in the records' Conflicts
	errs          []string
}

func (r pgRun) String() string {
	return fmt.Sprintf("%d/%d sends failed, %d install conflicts recorded %v", r.failed, r.sends, r.conflicts, r.errs)
}

// sendAll sends each (mind, object, selector) at once and waits for all
// of them; each send that answers must answer its selector.
func sendAll(t *testing.T, jobs []pgJob) pgRun {
	t.Helper()
	results := make([]sendResult, len(jobs))
	within(t, 2*time.Minute, "concurrent cycles", func() {
		var wg sync.WaitGroup
		for i, j := range jobs {
			wg.Go(func() {
				v, err := j.m.Send(ctx, j.oid, j.sel)
				results[i] = sendResult{v, err}
			})
		}
		wg.Wait()
	})
	run := pgRun{sends: len(jobs)}
	for i, r := range results {
		if r.err != nil {
			run.failed++
			run.errs = append(run.errs, fmt.Sprintf("%s: %v", jobs[i].sel, r.err))
			continue
		}
		assert.Equal(t, jobs[i].sel, r.v)
	}
	return run
}

type pgJob struct {
	m   *psm.Mind
	oid uvm.OID
	sel string
}

// countConflicts adds up the install conflicts recorded in m's records.
func countConflicts(t *testing.T, m *psm.Mind) int {
	t.Helper()
	recs, err := m.Cycles(ctx)
	require.NoError(t, err)
	n := 0
	for _, r := range recs {
		n += len(r.Conflicts)
	}
	return n
}

// pgSelector names the i-th selector of a test: scattered hex digits, so
// that no two are near misses of each other.
func pgSelector(test string, i int) string { return benchSelector(i) + "_" + test }

// TestPostgresParallelCycles: 8 and 16 cycles at once on distinct
// selectors, of one object or of one object each, in one kernel or
// spread over two (two Minds on one database): every sender gets its
// method, and each is installed once. Before installs of one kernel took
// turns on a database image and waited before retrying, about one cycle
// in seven failed here with "no tries left" (7 of 16 with one kernel on
// distinct objects): PostgreSQL's serializable transactions track reads
// by page, so installs on unrelated keys failed each other.
func TestPostgresParallelCycles(t *testing.T) {
	for _, kernels := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d kernels", kernels), func(t *testing.T) {
			url := kernelCluster(t)
			model := &selectorModel{src: answerSrc}
			var minds []*psm.Mind
			for k := range kernels {
				opts := kernelOptions(fmt.Sprintf("kernel-%d", k), model)
				opts.MaxConcurrentCycles = 16
				m, err := psm.Open(ctx, url, opts)
				require.NoError(t, err)
				t.Cleanup(func() { assert.NoError(t, m.Close()) })
				minds = append(minds, m)
			}
			round := 0
			for _, n := range []int{8, 16} {
				for _, objects := range []string{"one object", "distinct objects"} {
					round++
					t.Run(fmt.Sprintf("%d cycles, %s", n, objects), func(t *testing.T) {
						proto, err := minds[0].New(ctx)
						require.NoError(t, err)
						var jobs []pgJob
						for i := range n {
							oid := proto
							if objects == "distinct objects" {
								oid, err = minds[0].New(ctx)
								require.NoError(t, err)
							}
							jobs = append(jobs, pgJob{minds[i%kernels], oid, pgSelector("p", 100*round+i)})
						}
						before := countConflicts(t, minds[0])
						start := time.Now()
						run := sendAll(t, jobs)
						run.conflicts = countConflicts(t, minds[0]) - before // one image: every kernel reads every record
						t.Logf("%d cycles, %d kernels, %s: %v in %v", n, kernels, objects, run, time.Since(start).Round(time.Millisecond))
						assert.Zero(t, run.failed, "%v", run)
						for _, j := range jobs {
							assert.Len(t, versionsOn(t, minds[0], j.oid, j.sel), 1, "%s installed once", j.sel)
						}
					})
				}
			}
		})
	}
}

// tickSrc counts its calls in the slot "calls" of its receiver.
const tickSrc = `package m

import "batos"

// tick counts its calls.
func tick(self batos.Self, args []any) (any, error) {
	defer self.MarkChanged()
	n, _ := self.Get("calls").(int64)
	if err := self.Set("calls", n+1); err != nil {
		return nil, err
	}
	return n + 1, nil
}`

// TestPostgresSendsWhileCyclesInstall: plain sends of an installed method
// that writes a slot, two senders per object (one in each of two
// kernels), while 16 cycles install on other objects: every send and
// every cycle answers, and no call of tick is lost.
func TestPostgresSendsWhileCyclesInstall(t *testing.T) {
	url := kernelCluster(t)
	model := &selectorModel{src: answerSrc}
	var minds []*psm.Mind
	for k := range 2 {
		opts := kernelOptions(fmt.Sprintf("kernel-%d", k), model)
		opts.MaxConcurrentCycles = 16
		m, err := psm.Open(ctx, url, opts)
		require.NoError(t, err)
		t.Cleanup(func() { assert.NoError(t, m.Close()) })
		minds = append(minds, m)
	}
	const tickers, ticks = 2, 25
	counters := make([]uvm.OID, tickers)
	for i := range counters {
		oid, err := minds[0].New(ctx)
		require.NoError(t, err)
		_, err = minds[0].Install(ctx, oid, "tick", tickSrc)
		require.NoError(t, err)
		counters[i] = oid
	}
	var jobs []pgJob
	for i := range 16 {
		oid, err := minds[0].New(ctx)
		require.NoError(t, err)
		jobs = append(jobs, pgJob{minds[i%2], oid, pgSelector("s", i)})
	}
	var mu sync.Mutex
	sent, failed := 0, 0
	var errs []string
	done := make([]int64, tickers) // ticks answered, per counter
	tick := func(m *psm.Mind, i int) {
		_, err := m.Send(ctx, counters[i], "tick")
		mu.Lock()
		defer mu.Unlock()
		sent++
		if err != nil {
			failed++
			errs = append(errs, err.Error())
			assert.ErrorIs(t, err, uvm.ErrConflict, "a send that fails under contention says why")
			return
		}
		done[i]++
	}
	var wg sync.WaitGroup
	start := time.Now()
	for i := range counters { // two senders per counter, one in each kernel
		wg.Go(func() {
			for range ticks {
				tick(minds[i%2], i)
			}
		})
		wg.Go(func() {
			for range ticks {
				tick(minds[(i+1)%2], i)
			}
		})
	}
	run := sendAll(t, jobs)
	within(t, time.Minute, "ticks", wg.Wait)
	run.conflicts = countConflicts(t, minds[0])
	t.Logf("cycles: %v; ticks: %d/%d failed %v; in %v", run, failed, sent, errs, time.Since(start).Round(time.Millisecond))
	assert.Zero(t, run.failed, "cycles: %v", run)
	// A send retries its conflicts (uvm.Options.MaxRetries) and fails
	// with uvm.ErrConflict past them: two kernels incrementing one counter
	// conflict for real. Measured: none of 500 failed without the race
	// detector, about 1 in 100 with it.
	assert.LessOrEqual(t, failed, sent/20, "ticks: %v", errs)
	for i, oid := range counters {
		var calls any
		require.NoError(t, minds[1].Image().View(ctx, func(tx *uvm.Tx) error {
			o, err := tx.Object(oid)
			if err != nil {
				return err
			}
			calls, _ = o.Get("calls")
			return nil
		}))
		assert.Equal(t, done[i], calls, "every tick answered is counted on object %d, and no other", oid)
	}
}

// TestPostgresInstallRetriesExhausted: an install that conflicts when no
// tries are left (Options.MaxInstallRetries negative: none) fails: the
// sender gets an error that is both ErrCycleFailed and uvm.ErrConflict,
// the record is FAILED in COMPLETE with the try in Conflicts, no method is
// installed, and the concurrent commit is kept. The conflict is a real
// one: a transaction that read the method's part (finding no method) and
// wrote the object commits inside the install's transaction (from the
// embedder that indexes the new skill there), so the two cannot both
// commit serializably.
func TestPostgresInstallRetriesExhausted(t *testing.T) {
	url := kernelCluster(t)
	const sel = "doomed_install"
	var m *psm.Mind
	var target uvm.OID
	var meddled atomic.Int64
	offline := memory.OfflineEmbedder(0)
	embedder := memory.Embedder{Name: "meddling/" + offline.Name, Dimensions: offline.Dimensions, Embed: func(ctx context.Context, text string) ([]float32, error) {
		if strings.HasPrefix(text, "Method "+sel+" ") { // the skill, indexed inside the install's transaction
			n := meddled.Add(1)
			done := make(chan error, 1)
			go func() { // another transaction: the install's keeps its snapshot
				done <- m.Image().Update(ctx, func(tx *uvm.Tx) error {
					o, err := tx.Object(target)
					if err != nil {
						return err
					}
					if o.Has(sel) { // reads what the install writes
						return fmt.Errorf("%s installed already", sel)
					}
					return o.Set(fmt.Sprintf("meddled_%d", n), n)
				})
			}()
			if err := <-done; err != nil {
				return nil, err
			}
		}
		return offline.Embed(ctx, text)
	}}
	model := &selectorModel{src: answerSrc}
	opts := kernelOptions("kernel-0", model)
	opts.MaxInstallRetries = -1
	opts.Memory.Embedder = embedder
	m, err := psm.Open(ctx, url, opts)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, m.Close()) })
	target, err = m.New(ctx)
	require.NoError(t, err)

	var r sendResult
	within(t, time.Minute, "the doomed send", func() { r.v, r.err = m.Send(ctx, target, sel) })
	require.Error(t, r.err)
	assert.ErrorIs(t, r.err, psm.ErrCycleFailed)
	assert.ErrorIs(t, r.err, uvm.ErrConflict, "typed: the install conflicted")
	assert.ErrorContains(t, r.err, "no tries left")
	assert.Equal(t, int64(1), meddled.Load(), "one try")

	recs := cyclesFor(t, m, sel)
	require.Len(t, recs, 1)
	requireFailedRecord(t, recs[0], psm.Complete)
	require.Len(t, recs[0].Conflicts, 1, "the try is in the record")
	for i, c := range recs[0].Conflicts {
		assert.Equal(t, i+1, c.Try)
		assert.Contains(t, strings.Join(c.Wrote, "\n"), sel)
	}
	assert.Empty(t, versionsOn(t, m, target, sel), "nothing installed")
	require.NoError(t, m.Image().View(ctx, func(tx *uvm.Tx) error {
		o, err := tx.Object(target)
		if err != nil {
			return err
		}
		assert.False(t, o.Has(sel), "no method on the target")
		v, _ := o.Get("meddled_1")
		assert.Equal(t, int64(1), v, "the concurrent commit is kept")
		return nil
	}))
}
