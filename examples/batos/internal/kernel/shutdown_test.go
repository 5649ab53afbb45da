package kernel_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/batos-dev/batos/examples/batos/internal/kernel"
	"github.com/batos-dev/batos/psm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// waitInFlight waits until n sends run on workers.
func (f *fixture) waitInFlight(t *testing.T, n string) {
	t.Helper()
	require.Eventually(t, func() bool {
		return strings.Contains(string(f.do(t, "GET", "/metrics", "", "").raw), "batos_sends_in_flight "+n+"\n")
	}, 10*time.Second, 5*time.Millisecond)
}

// Within the grace period, a running cycle finishes and answers; sends
// arriving meanwhile answer 503 shutting_down.
func TestShutdownLetsRunningSendsFinish(t *testing.T) {
	f := newFixture(t, kernel.Options{}, "add_slow.jsonl")
	got := make(chan answer, 1)
	go func() { got <- f.send(t, "genesis", "add", 2, 40) }()
	f.waitInFlight(t, "1")

	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stopped <- f.srv.Shutdown(ctx)
	}()
	require.Eventually(t, func() bool {
		return f.do(t, "GET", "/healthz", "", "").status == http.StatusServiceUnavailable
	}, 5*time.Second, 5*time.Millisecond)
	late := f.send(t, "genesis", "add", 1, 1)
	assert.Equal(t, http.StatusServiceUnavailable, late.status, "%s", late.raw)
	assert.Equal(t, kernel.KindShuttingDown, late.body["kind"])
	assert.NotEmpty(t, late.header.Get("Retry-After"))

	a := <-got
	assert.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	assert.Equal(t, float64(42), a.body["answer"])
	require.NoError(t, <-stopped)
}

// When the grace period ends first, the running cycle is cancelled: it
// fails, its client gets 503 shutting_down naming it, and the image is as
// it was.
func TestShutdownCancelsSendsAfterGrace(t *testing.T) {
	f := newFixture(t, kernel.Options{}, "hang.jsonl")
	before, err := f.mind.Image().Fingerprint(context.Background(), psm.RecordNamespace)
	require.NoError(t, err)
	got := make(chan answer, 1)
	go func() { got <- f.send(t, "genesis", "add", 2, 40) }()
	f.waitInFlight(t, "1")

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = f.srv.Shutdown(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second, "shutdown took %s", time.Since(start))

	a := <-got
	assert.Equal(t, http.StatusServiceUnavailable, a.status, "%s", a.raw)
	assert.Equal(t, kernel.KindShuttingDown, a.body["kind"])
	require.NotEmpty(t, a.body["cycle"])
	rec, err := f.mind.Cycle(context.Background(), a.body["cycle"].(string))
	require.NoError(t, err)
	assert.Equal(t, psm.Failed, rec.Outcome)
	after, err := f.mind.Image().Fingerprint(context.Background(), psm.RecordNamespace)
	require.NoError(t, err)
	assert.Equal(t, before, after, "a cancelled cycle changed the image")
}
