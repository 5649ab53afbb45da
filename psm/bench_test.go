package psm_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm/live"
	"github.com/batos-dev/batos/uvm/store/pgstore/pgtest"
	"github.com/stretchr/testify/require"
)

// BenchmarkCycle runs full cognitive cycles on a durable on-disk image:
// plan, memory search, synthesis, guardian audit, compile, an isolated dry
// run in a worker, and the durable install, with the audit log written to
// a file. The model is scripted and answers at once, so this measures
// batos's own overhead per cycle. Every cycle adds a method to genesis, as
// a user's would, so later cycles work on a bigger object; the median is
// over all of them. The postgres variants keep the image in a throwaway
// PostgreSQL cluster (skipped without the server binaries).
func BenchmarkCycle(b *testing.B) {
	for _, policy := range []string{psm.PolicyIsolated, psm.PolicyInProcess} {
		b.Run(policy, func(b *testing.B) { benchCycle(b, policy, b.TempDir()) })
	}
	c, err := pgtest.Start()
	if errors.Is(err, pgtest.ErrNoServer) {
		b.Log(pgtest.Hint)
		return
	}
	require.NoError(b, err)
	defer c.Stop()
	for _, policy := range []string{psm.PolicyIsolated, psm.PolicyInProcess} {
		b.Run("postgres/"+policy, func(b *testing.B) { benchCycle(b, policy, c.NewDatabase(b)) })
	}
}

func benchCycle(b *testing.B, policy, location string) {
	replies := make([]persona.Reply, 0, 2*b.N+2)
	for i := 0; i <= b.N; i++ {
		sel := benchSelector(i)
		replies = append(replies,
			persona.Reply{Persona: "BRICK", Text: `{"queries": ["answering a question"]}`},
			persona.Reply{Expect: sel, Text: code(fmt.Sprintf(`package m

import (
	"strconv"

	"batos"
)

// %[1]s answers with its number and counts its calls.
func %[1]s(self batos.Self, args []any) (any, error) {
	defer self.MarkChanged()
	n, _ := self.Get("calls").(int64)
	if err := self.Set("calls", n+1); err != nil {
return nil, err
	}
	return "answer " + strconv.Itoa(%[2]d), nil
}`, sel, i))})
	}
	log, err := os.Create(filepath.Join(b.TempDir(), "audit.jsonl"))
	require.NoError(b, err)
	defer log.Close()
	m, err := psm.Open(ctx, location, psm.Options{Model: persona.NewScripted(replies), AuditLog: log, Live: live.Options{Policy: policy}})
	require.NoError(b, err)
	defer m.Close()
	// One cycle outside the timer warms the worker pool and the
	// interpreter; the second warm worker may still be loading its own.
	_, err = m.Send(ctx, m.Genesis(), benchSelector(0))
	require.NoError(b, err)
	require.Eventually(b, func() bool { return psm.IdleWorkers(m) == 2 }, time.Minute, 5*time.Millisecond) // live.Options.Workers' default
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		start := time.Now()
		v, err := m.Send(ctx, m.Genesis(), benchSelector(i))
		require.NoError(b, err)
		require.Equal(b, fmt.Sprintf("answer %d", i), v)
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cycles/s")
}

// benchSelector names the i-th cycle's message: scattered hex digits, so
// that no two are near misses of each other (a near miss is refused, not
// written).
func benchSelector(i int) string {
	h := sha256.Sum256([]byte(strconv.Itoa(i)))
	return "answer_" + hex.EncodeToString(h[:6])
}

// answerSrc is a method for sel that answers its own name.
func answerSrc(sel string) string {
	return fmt.Sprintf(`package m

import "batos"

// %[1]s answers its own name.
func %[1]s(self batos.Self, args []any) (any, error) {
	return %[1]q, nil
}`, sel)
}

// BenchmarkParallelCycles runs rounds of 8 cycles on distinct selectors
// of one object (a new child of genesis each round, so that later rounds
// work on an object as small as the first) on a durable on-disk image
// with an instant model: each round once one cycle at a time, then all 8
// at once. It reports the cycles per second of each and the speed-up of
// running them at once. Dry runs are isolated (the default policy), so
// the runtime keeps as many workers warm as cycles run at once
// (Live.Workers): with the default two, the first parallel round would
// start the other six while timed (they stay for Live.WorkerIdle).
func BenchmarkParallelCycles(b *testing.B) {
	const width = 8
	model := &selectorModel{src: answerSrc}
	m, err := psm.Open(ctx, b.TempDir(), psm.Options{Model: model, Policy: psm.Policy{AllowNearMisses: true}, Live: live.Options{Workers: width}})
	require.NoError(b, err)
	defer m.Close()
	_, err = m.Send(ctx, m.Genesis(), "warm_up") // warms the interpreter
	require.NoError(b, err)
	// Every warm worker loads its interpreter when it starts (tens of ms
	// of CPU each): wait for all of them, so that none does while timed.
	require.Eventually(b, func() bool { return psm.IdleWorkers(m) == width }, time.Minute, 5*time.Millisecond)
	round := 0
	run := func(parallel bool) time.Duration {
		round++
		oid, err := m.New(ctx, m.Genesis())
		require.NoError(b, err)
		sels := make([]string, width)
		for i := range sels {
			sels[i] = fmt.Sprintf("par_%d_%d", round, i)
		}
		start := time.Now()
		if !parallel {
			for _, sel := range sels {
				v, err := m.Send(ctx, oid, sel)
				require.NoError(b, err)
				require.Equal(b, sel, v)
			}
			return time.Since(start)
		}
		results := make([]<-chan sendResult, width)
		for i, sel := range sels {
			results[i] = sendAsyncTo(ctx, m, oid, sel)
		}
		for i, ch := range results {
			r := <-ch
			require.NoError(b, r.err, sels[i])
			require.Equal(b, sels[i], r.v)
		}
		return time.Since(start)
	}
	var serial, parallel time.Duration
	b.ResetTimer()
	for range b.N {
		serial += run(false)
		parallel += run(true)
	}
	b.StopTimer()
	n := float64(b.N * width)
	b.ReportMetric(n/parallel.Seconds(), "cycles/s")
	b.ReportMetric(n/serial.Seconds(), "serial-cycles/s")
	b.ReportMetric(serial.Seconds()/parallel.Seconds(), "speed-up")
}
