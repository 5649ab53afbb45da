package kernel

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/batos-dev/batos/psm"
)

// SSE event names.
const (
	// EventCycle carries one psm.Event as JSON.
	EventCycle = "cycle"
	// EventShutdown tells a client that the kernel is shutting down; the
	// stream ends after it.
	EventShutdown = "shutdown"
)

// entry is one published event, encoded once for every stream.
type entry struct {
	id    uint64
	name  string
	cycle string // for the ?cycle= filter
	kind  string // for the ?kinds= filter
	data  []byte
}

// stream is one client's subscription.
type stream struct {
	ch     chan entry
	cycle  string
	kinds  map[string]bool
	lagged bool // closed because it fell behind
}

func (s *stream) wants(e entry) bool {
	if e.name != EventCycle {
		return true
	}
	if s.cycle != "" && e.cycle != s.cycle {
		return false
	}
	return s.kinds == nil || s.kinds[e.kind]
}

// hub fans events out to streams and keeps the latest ones, so a client
// that reconnects with Last-Event-ID misses nothing still kept.
type hub struct {
	mu      sync.Mutex
	seq     uint64
	ring    []entry // the latest events, oldest first, at most cap(ring)
	streams map[*stream]struct{}
	closed  bool
	buffer  int // channel capacity per stream
	dropped func()
}

func newHub(keep, buffer int, dropped func()) *hub {
	return &hub{ring: make([]entry, 0, keep), streams: map[*stream]struct{}{}, buffer: buffer, dropped: dropped}
}

// publish encodes v and hands it to every stream that wants it. A stream
// whose buffer is full is closed (its client reconnects and resumes from
// the ring), so a slow client never holds a cycle up.
func (h *hub) publish(name, cycle, kind string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		data, _ = json.Marshal(map[string]string{"error": err.Error()})
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.seq++
	e := entry{id: h.seq, name: name, cycle: cycle, kind: kind, data: data}
	if len(h.ring) == cap(h.ring) && cap(h.ring) > 0 {
		copy(h.ring, h.ring[1:])
		h.ring = h.ring[:len(h.ring)-1]
	}
	if cap(h.ring) > 0 {
		h.ring = append(h.ring, e)
	}
	for s := range h.streams {
		if !s.wants(e) {
			continue
		}
		select {
		case s.ch <- e:
		default:
			s.lagged = true
			close(s.ch)
			delete(h.streams, s)
			h.dropped()
		}
	}
}

// subscribe adds a stream and returns the kept events after lastID that
// it wants, in order. ok is false once the hub is closed.
func (h *hub) subscribe(s *stream, lastID uint64, resume bool) (backlog []entry, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, false
	}
	if resume {
		for _, e := range h.ring {
			if e.id > lastID && s.wants(e) {
				backlog = append(backlog, e)
			}
		}
	}
	s.ch = make(chan entry, h.buffer)
	h.streams[s] = struct{}{}
	return backlog, true
}

func (h *hub) unsubscribe(s *stream) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.streams[s]; ok {
		delete(h.streams, s)
		close(s.ch)
	}
}

// close sends every stream the shutdown event and ends them.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	h.seq++
	bye := entry{id: h.seq, name: EventShutdown, data: []byte(`{"reason":"kernel shutting down"}`)}
	for s := range h.streams {
		select {
		case s.ch <- bye:
		default:
		}
		close(s.ch)
		delete(h.streams, s)
	}
}

func (h *hub) publishCycle(e psm.Event) {
	h.publish(EventCycle, e.Cycle, e.Kind, e)
}

// serveEvents is GET /api/events: a text/event-stream of the kernel's
// events. Query parameters: cycle=ID keeps one cycle's events;
// kinds=state,outcome keeps those event kinds (psm.Event.Kind). A client
// that reconnects with Last-Event-ID (or ?last_event_id=N; 0 for every
// event still kept) gets the events it missed, as far as the kernel still
// keeps them.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	if _, ok := w.(http.Flusher); !ok {
		s.fail(w, r, fmt.Errorf("%w: streaming unsupported", ErrBadRequest))
		return
	}
	st := &stream{cycle: r.URL.Query().Get("cycle")}
	if k := r.URL.Query().Get("kinds"); k != "" {
		st.kinds = map[string]bool{}
		for _, kind := range strings.Split(k, ",") {
			st.kinds[strings.TrimSpace(kind)] = true
		}
	}
	var lastID uint64
	resume := false
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get("last_event_id") // EventSource cannot set the header on its first request
	}
	if v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			s.fail(w, r, fmt.Errorf("%w: Last-Event-ID %q is not an event id", ErrBadRequest, v))
			return
		}
		lastID, resume = n, true
	}
	backlog, ok := s.hub.subscribe(st, lastID, resume)
	if !ok {
		s.fail(w, r, ErrShuttingDown)
		return
	}
	defer s.hub.unsubscribe(st)
	s.metrics.sseClients.Inc()
	defer s.metrics.sseClients.Dec()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// Every batch of writes must reach a client that reads within
	// StreamWriteTimeout; one that does not is let go (its handler ends
	// and the server closes the connection), also when it is already
	// dropped from the hub while a write to it waits.
	// (net/http clears the deadline once the response is finished.)
	rc := http.NewResponseController(w)
	sent := func() bool { return rc.Flush() == nil }
	arm := func() { rc.SetWriteDeadline(time.Now().Add(s.opts.StreamWriteTimeout)) } // before each batch
	arm()
	fmt.Fprintf(w, "retry: %d\n: batos kernel events\n\n", s.opts.Retry.Milliseconds())
	for _, e := range backlog {
		writeEvent(w, e)
	}
	if !sent() {
		return
	}

	tick := time.NewTicker(s.opts.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			arm()
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || !sent() {
				return
			}
		case e, ok := <-st.ch:
			// Write what is already waiting, then flush once.
			arm()
			for ok {
				if err := writeEvent(w, e); err != nil {
					return // the client did not take it in time, or went away
				}
				if e.name == EventShutdown || len(st.ch) == 0 {
					break
				}
				e, ok = <-st.ch
			}
			if !sent() || !ok || e.name == EventShutdown {
				return // lagged (the client resumes with Last-Event-ID) or shut down
			}
		}
	}
}

func writeEvent(w http.ResponseWriter, e entry) error {
	_, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.id, e.name, e.data)
	return err
}
