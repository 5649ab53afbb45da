package kernel_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/batos-dev/batos/examples/batos/internal/kernel"
	"github.com/batos-dev/batos/psm"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// metricValue finds one sample in a Prometheus text exposition.
func metricValue(t *testing.T, exposition, name string, labels map[string]string) float64 {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(exposition))
	require.NoError(t, err)
	fam, ok := families[name]
	require.True(t, ok, "no metric %s", name)
	for _, m := range fam.GetMetric() {
		match := true
		for k, v := range labels {
			found := false
			for _, lp := range m.GetLabel() {
				found = found || (lp.GetName() == k && lp.GetValue() == v)
			}
			match = match && found
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	require.FailNow(t, "no sample", "%s%v", name, labels)
	return 0
}

// /metrics counts cycles by outcome, model calls and their latency by
// persona, sends by result with their latency, and shows the queue.
func TestMetrics(t *testing.T) {
	f := newFixture(t, kernel.Options{Queue: 7}, "add.jsonl")
	require.Equal(t, http.StatusOK, f.send(t, "genesis", "add", 2, 40).status)
	require.Equal(t, http.StatusOK, f.send(t, "genesis", "add", 1, 1).status)
	require.Equal(t, http.StatusUnprocessableEntity, f.send(t, "genesis", "add", "x", 1).status)
	require.Equal(t, http.StatusUnprocessableEntity, f.send(t, "genesis", "sub", 1, 1).status) // the script is spent: the cycle fails
	require.Equal(t, http.StatusBadRequest, f.do(t, "POST", "/api/send", "{", "").status)

	a := f.do(t, "GET", "/metrics", "", "")
	require.Equal(t, http.StatusOK, a.status)
	text := string(a.raw)
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"batos_cycles_total", map[string]string{"outcome": "COMPLETE"}, 1},
		{"batos_cycles_total", map[string]string{"outcome": "FAILED"}, 1},
		{"batos_model_calls_total", map[string]string{"persona": "BRICK", "result": "ok"}, 1},
		{"batos_model_calls_total", map[string]string{"persona": "BRICK", "result": "error"}, 1},
		{"batos_model_calls_total", map[string]string{"persona": "ALFRED", "result": "ok"}, 1},
		{"batos_model_call_seconds", map[string]string{"persona": "ALFRED"}, 1},
		{"batos_model_call_seconds", map[string]string{"persona": "BRICK"}, 2},
		{"batos_sends_total", map[string]string{"result": "ok"}, 2},
		{"batos_sends_total", map[string]string{"result": "failed"}, 2},
		{"batos_sends_total", map[string]string{"result": "rejected"}, 1},
		{"batos_send_seconds", map[string]string{"result": "ok"}, 2},
		{"batos_send_queue_depth", nil, 0},
		{"batos_send_queue_capacity", nil, 7},
		{"batos_sends_in_flight", nil, 0},
		{"batos_http_requests_total", map[string]string{"route": "/api/send", "code": "200"}, 2},
	} {
		assert.Equal(t, tc.want, metricValue(t, text, tc.name, tc.labels), "%s%v", tc.name, tc.labels)
	}
	assert.Contains(t, text, "go_goroutines")
	assert.Contains(t, text, "process_start_time_seconds")
}

// A cycle that reuses an installed method instead of asking the model for
// new code counts the call it saved in batos_model_calls_avoided_total.
func TestMetricsModelCallsAvoided(t *testing.T) {
	model := newLoadModel(0)
	// The offline embedder rates the method ("motto answers its own
	// name.") below the default threshold (0.85) against the mission.
	f := newFixtureWith(t, "", kernel.Options{}, model, nil, func(o *psm.Options) { o.ReuseThreshold = 0.3 })
	require.Equal(t, float64(0), f.metric(t, "batos_model_calls_avoided_total"))
	first, err := f.mind.New(context.Background())
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, f.send(t, uint64(first), "motto").status)
	other, err := f.mind.New(context.Background()) // does not delegate to first
	require.NoError(t, err)
	a := f.send(t, uint64(other), "motto")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	assert.Equal(t, "motto", a.body["answer"])
	assert.Equal(t, 1, model.calls("motto"), "the second cycle reused the first one's method")
	assert.Equal(t, float64(1), f.metric(t, "batos_model_calls_avoided_total"))
	assert.Equal(t, float64(2), f.metric(t, `batos_cycles_total{outcome="COMPLETE"}`))
}
