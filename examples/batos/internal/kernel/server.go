package kernel

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/batos-dev/batos/examples/batos/internal/inspector"
	"github.com/batos-dev/batos/psm"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options configure a Server. The zero value means the defaults that
// DefaultOptions documents.
type Options struct {
	// Token, when set, is the bearer token every request but GET /healthz
	// must carry ("Authorization: Bearer TOKEN"; GET /api/events also
	// takes ?access_token=TOKEN, for browsers' EventSource).
	Token string
	// Workers is how many sends run at once. Zero means 16.
	Workers int
	// Queue is how many accepted sends may wait for a worker; one more
	// answers 503 with Retry-After. Zero means 256.
	Queue int
	// MaxBody bounds a request body in bytes. Zero means 1 MiB.
	MaxBody int64
	// SendTimeout bounds one send, cycle included. Zero means no bound
	// beyond the client's connection.
	SendTimeout time.Duration
	// RetryAfter is the Retry-After of a 503. Zero means 1s.
	RetryAfter time.Duration
	// KeepEvents is how many recent events the kernel keeps for clients
	// that reconnect (Last-Event-ID). Zero means 1024.
	KeepEvents int
	// StreamBuffer is how many events may wait for one slow stream before
	// it is closed. Zero means 256.
	StreamBuffer int
	// StreamWriteTimeout bounds how long the kernel waits for one event
	// stream's client to take what it writes (events, keep-alives). A
	// client that stops reading is dropped when its buffer fills (see
	// StreamBuffer), but a write to it may already wait: past this
	// timeout its connection is closed, so that it holds no handler and
	// no shutdown waits for it. Zero means 10s.
	StreamWriteTimeout time.Duration
	// Heartbeat is the interval of keep-alive comments on event streams.
	// Zero means 15s.
	Heartbeat time.Duration
	// Retry is the reconnection delay an event stream advises. Zero means 2s.
	Retry time.Duration
	// Logger receives operational messages. Nil discards them.
	Logger *slog.Logger
}

// DefaultOptions returns Options with every default filled in.
func DefaultOptions() Options {
	var o Options
	o.fill()
	return o
}

func (o *Options) fill() {
	if o.Workers <= 0 {
		o.Workers = 16
	}
	if o.Queue <= 0 {
		o.Queue = 256
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 1 << 20
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = time.Second
	}
	if o.KeepEvents <= 0 {
		o.KeepEvents = 1024
	}
	if o.StreamBuffer <= 0 {
		o.StreamBuffer = 256
	}
	if o.StreamWriteTimeout <= 0 {
		o.StreamWriteTimeout = 10 * time.Second
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 15 * time.Second
	}
	if o.Retry <= 0 {
		o.Retry = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Server is the kernel: a Mind behind HTTP. Create it with New, serve
// Handler, and end it with Shutdown.
type Server struct {
	mind    *psm.Mind
	opts    Options
	hub     *hub
	metrics *metrics
	handler http.Handler
	unsub   func()
	roots   sync.Map // object reference → uvm.OID, see resolve
	graph   graphCache

	// abort ends the sends still running when the grace period is over.
	abort     context.Context
	abortSend context.CancelCauseFunc

	mu       sync.RWMutex // guards closing against enqueue
	closing  bool
	queue    chan *job
	workers  sync.WaitGroup
	shutOnce sync.Once
}

// New starts a kernel for mind: its workers and its event feed. The
// caller keeps mind and closes it after Shutdown.
func New(mind *psm.Mind, opts Options) *Server {
	opts.fill()
	s := &Server{mind: mind, opts: opts, queue: make(chan *job, opts.Queue)}
	s.abort, s.abortSend = context.WithCancelCause(context.Background())
	s.metrics = newMetrics(func() float64 { return float64(len(s.queue)) }, opts.Queue)
	s.hub = newHub(opts.KeepEvents, opts.StreamBuffer, s.metrics.sseDropped.Inc)
	s.unsub = mind.Subscribe(func(e psm.Event) {
		s.metrics.observe(e)
		s.hub.publishCycle(e)
	})
	for range opts.Workers {
		s.workers.Add(1)
		go s.work()
	}
	s.handler = s.routes()
	return s
}

// Handler returns the kernel's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Shutdown stops taking sends (new ones answer 503 shutting_down), then
// waits for the sends already accepted, queued or running, until ctx
// ends. Sends still running then are cancelled: a cycle among them fails,
// leaving the image as it was, and its client gets 503 shutting_down.
// Once every worker has stopped, the event streams receive the shutdown
// event and end. The error is ctx's when the grace period ran out.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutOnce.Do(func() {
		s.mu.Lock()
		s.closing = true
		close(s.queue)
		s.mu.Unlock()
	})
	done := make(chan struct{})
	go func() {
		s.workers.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		s.abortSend(ErrShuttingDown)
		<-done
	}
	s.hub.close()
	s.unsub()
	return err
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(method, path string, h http.HandlerFunc) {
		mux.Handle(method+" "+path, s.count(path, h))
		// Any other method on a known path: a JSON 405.
		mux.Handle(path, s.count(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", method)
			s.fail(w, r, fmt.Errorf("%w: %s %s (use %s)", ErrMethodNotAllowed, r.Method, r.URL.Path, method))
		}))
	}
	handle("POST", "/api/send", s.serveSend)
	handle("GET", "/api/objects", s.serveSummary)
	handle("GET", "/api/objects/{ref}", s.serveObject)
	handle("GET", "/api/objects/{ref}/slots/{name}", s.serveSlot)
	handle("GET", "/api/objects/{ref}/methods/{selector}", s.serveMethod)
	handle("GET", "/api/objects/{ref}/methods/{selector}/versions/{version}", s.serveVersion)
	handle("GET", "/api/cycles", s.serveCycles)
	handle("GET", "/api/cycles/{id}", s.serveCycle)
	handle("GET", "/api/graph", s.serveGraph)
	handle("POST", "/api/brief", s.serveBrief)
	handle("GET", "/api/pending", s.servePending)
	handle("POST", "/api/pending/{id}/{decision}", s.serveDecision)
	handle("POST", "/api/objects/{ref}/methods/{selector}/revert", s.serveRevert)
	handle("GET", "/api/events", s.serveEvents)
	handle("GET", "/metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}).ServeHTTP)
	handle("GET", "/healthz", s.serveHealth)
	page := inspector.Handler()
	handle("GET", "/{$}", page.ServeHTTP)
	handle("GET", "/ui/", page.ServeHTTP)
	mux.Handle("/", s.count("other", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, fmt.Errorf("%w: %s %s", ErrNoRoute, r.Method, r.URL.Path))
	}))
	return s.authorize(mux)
}

// authorize checks the bearer token on every path but /healthz and the
// inspector's files (the page asks for the token itself).
func (s *Server) authorize(next http.Handler) http.Handler {
	if s.opts.Token == "" {
		return next
	}
	want := []byte(s.opts.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || (r.Method == http.MethodGet && inspector.Public(r.URL.Path)) {
			next.ServeHTTP(w, r)
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok && r.URL.Path == "/api/events" {
			got, ok = r.URL.Query().Get("access_token"), true
		}
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="batos"`)
			s.fail(w, r, ErrUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status code for the request counter.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush keeps event streams working through the wrapper.
func (w *statusWriter) Flush() { w.FlushError() }

// FlushError is Flush that says whether the client took what was written
// (http.ResponseController's Flush calls it).
func (w *statusWriter) FlushError() error {
	return http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) count(route string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		h(sw, r)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		s.metrics.httpResults.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
	})
}

// reply writes v as a JSON answer.
func reply(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(ErrorBody{Error: "kernel: encoding the answer: " + err.Error(), Kind: KindInternal})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// fail writes err as a JSON error body with its status.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, body := Classify(err)
	if status == http.StatusServiceUnavailable || body.Kind == KindConflict {
		w.Header().Set("Retry-After", strconv.Itoa(int((s.opts.RetryAfter+time.Second-1)/time.Second)))
	}
	if status >= 500 && status != http.StatusServiceUnavailable {
		s.opts.Logger.Error("kernel: request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	reply(w, status, body)
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	closing := s.closing
	s.mu.RUnlock()
	if closing {
		s.fail(w, r, ErrShuttingDown)
		return
	}
	reply(w, http.StatusOK, map[string]string{"status": "ok"})
}

// decodeBody reads a JSON request body within Options.MaxBody, refusing
// unknown fields.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.opts.MaxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return fmt.Errorf("%w: more than %d bytes", ErrTooLarge, tooLarge.Limit)
		}
		return fmt.Errorf("%w: body: %w", ErrBadRequest, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: body holds more than one JSON value", ErrBadRequest)
	}
	return nil
}
