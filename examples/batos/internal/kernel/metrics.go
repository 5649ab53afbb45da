package kernel

import (
	"sync"
	"time"

	"github.com/batos-dev/batos/psm"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Send results, the "result" label of batos_sends_total.
const (
	resultOK       = "ok"       // answered
	resultFailed   = "failed"   // the method or its cycle failed; nothing was written
	resultRejected = "rejected" // not run: queue full, shutting down, bad request
	resultError    = "error"    // anything else
)

// metrics are the kernel's Prometheus collectors, in a registry of its own.
type metrics struct {
	reg *prometheus.Registry

	cycles      *prometheus.CounterVec
	avoided     prometheus.Counter
	modelCalls  *prometheus.CounterVec
	modelTime   *prometheus.HistogramVec
	sends       *prometheus.CounterVec
	sendTime    *prometheus.HistogramVec
	inflight    prometheus.Gauge
	sseClients  prometheus.Gauge
	sseDropped  prometheus.Counter
	httpResults *prometheus.CounterVec

	mu      sync.Mutex
	prompts map[string]time.Time // cycle → when its pending model call was asked
}

func newMetrics(queueDepth func() float64, queueCap int) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		cycles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "batos_cycles_total", Help: "Cognitive cycles ended, by outcome (COMPLETE or FAILED).",
		}, []string{"outcome"}),
		avoided: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "batos_model_calls_avoided_total", Help: "Model calls cycles saved by reusing an installed method instead of asking for new code.",
		}),
		modelCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "batos_model_calls_total", Help: "Model calls made by cycles, by persona and result (ok or error).",
		}, []string{"persona", "result"}),
		modelTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "batos_model_call_seconds", Help: "Latency of model calls, by persona.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 12), // 10 ms … ~10 min
		}, []string{"persona"}),
		sends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "batos_sends_total", Help: "Messages sent through the kernel, by result (ok, failed, rejected, error).",
		}, []string{"result"}),
		sendTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "batos_send_seconds", Help: "Latency of sends from acceptance to answer (queue wait included), by result.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 3, 14), // 100 µs … ~8 min
		}, []string{"result"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "batos_sends_in_flight", Help: "Sends running on a worker now.",
		}),
		sseClients: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "batos_event_streams", Help: "Open event streams (GET /api/events).",
		}),
		sseDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "batos_event_streams_dropped_total", Help: "Event streams closed because their client fell behind.",
		}),
		httpResults: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "batos_http_requests_total", Help: "HTTP requests answered, by route and status code.",
		}, []string{"route", "code"}),
		prompts: map[string]time.Time{},
	}
	queueCapacity := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "batos_send_queue_capacity", Help: "How many sends may wait; one more answers 503.",
	})
	queueCapacity.Set(float64(queueCap))
	m.reg.MustRegister(
		m.cycles, m.avoided, m.modelCalls, m.modelTime, m.sends, m.sendTime, m.inflight,
		m.sseClients, m.sseDropped, m.httpResults,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "batos_send_queue_depth", Help: "Sends accepted and waiting for a worker.",
		}, queueDepth),
		queueCapacity,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	// Pre-create the label values a dashboard expects to see at zero.
	for _, o := range []psm.State{psm.Complete, psm.Failed} {
		m.cycles.WithLabelValues(string(o))
	}
	for _, r := range []string{resultOK, resultFailed, resultRejected, resultError} {
		m.sends.WithLabelValues(r)
	}
	return m
}

// observe turns a cycle event into metrics: outcomes count cycles, a
// prompt starts a model call and the reply after it ends it.
func (m *metrics) observe(e psm.Event) {
	switch e.Kind {
	case psm.EventOutcome:
		m.cycles.WithLabelValues(string(e.State)).Inc()
		m.avoided.Add(float64(e.ModelCallsAvoided))
		m.mu.Lock()
		delete(m.prompts, e.Cycle)
		m.mu.Unlock()
	case psm.EventPrompt:
		m.mu.Lock()
		m.prompts[e.Cycle] = e.Time
		m.mu.Unlock()
	case psm.EventReply:
		m.mu.Lock()
		asked, ok := m.prompts[e.Cycle]
		delete(m.prompts, e.Cycle)
		m.mu.Unlock()
		result := "ok"
		if e.Error != "" {
			result = "error"
		}
		m.modelCalls.WithLabelValues(e.Persona, result).Inc()
		if ok {
			m.modelTime.WithLabelValues(e.Persona).Observe(e.Time.Sub(asked).Seconds())
		}
	}
}
