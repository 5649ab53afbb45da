package kernel_test

import (
	"bytes"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batos-dev/batos/examples/batos/internal/kernel"
	"github.com/stretchr/testify/require"
)

// BenchmarkKernelSend: 16 concurrent HTTP clients on loopback send an
// installed method (add, in process) to the kernel's real handler behind
// a real listener, on a durable image on disk. It reports sends/s and the
// 99th percentile latency; the target is ≥ 5,000 sends/s.
func BenchmarkKernelSend(b *testing.B) {
	const clients = 16
	f := newFixtureAt(b, b.TempDir(), kernel.Options{}, "add.jsonl")
	require.Equal(b, http.StatusOK, f.send(b, "genesis", "add", 1, 1).status) // the cycle installs add
	tr := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	body := []byte(`{"object":"genesis","selector":"add","args":[2,40]}`)
	url := f.http.URL + "/api/send"

	var next atomic.Int64
	lat := make([][]time.Duration, clients)
	var failed atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				t0 := time.Now()
				resp, err := hc.Post(url, "application/json", bytes.NewReader(body))
				if err != nil {
					failed.Add(1)
					continue
				}
				var buf [256]byte
				for {
					if _, err := resp.Body.Read(buf[:]); err != nil {
						break
					}
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	require.Zero(b, failed.Load(), "failed sends")
	all := slices.Concat(lat...)
	slices.Sort(all)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "sends/s")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
}
