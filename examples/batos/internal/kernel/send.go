package kernel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/batos-dev/batos/examples/batos/internal/imageview"
	"github.com/batos-dev/batos/uvm"
)

// SendRequest is the body of POST /api/send.
type SendRequest struct {
	// Object is the receiver: an OID (a JSON number or a decimal string)
	// or a root name.
	Object json.RawMessage `json:"object"`
	// Selector is the message.
	Selector string `json:"selector"`
	// Args are the arguments, in the JSON form imageview.Decode reads:
	// integers become int64, {"$ref": N} a reference.
	Args []json.RawMessage `json:"args,omitempty"`
}

// SendAnswer is the answer of a send that succeeded.
type SendAnswer struct {
	Object   uvm.OID `json:"object"`
	Selector string  `json:"selector"`
	// Answer is the method's answer in JSON form (see imageview.Plain).
	Answer any `json:"answer"`
	// Millis is the time from acceptance to answer, queue wait included.
	Millis float64 `json:"ms"`
}

// job is one accepted send, waiting for or running on a worker.
type job struct {
	ctx      context.Context
	ref      string
	selector string
	args     []any
	accepted time.Time
	done     chan struct{}
	answer   SendAnswer
	err      error
}

// ObjectRef reads the object field of a send: a JSON number or string.
func ObjectRef(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", fmt.Errorf("%w: no object (an OID or a root name)", ErrBadRequest)
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return string(n), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%w: object %s: want an OID or a root name", ErrBadRequest, raw)
	}
	return s, nil
}

// serveSend is POST /api/send: the message is queued, run by a worker,
// and answered when it is done — after a cycle, if the selector was new.
func (s *Server) serveSend(w http.ResponseWriter, r *http.Request) {
	var req SendRequest
	if err := s.decodeBody(w, r, &req); err != nil {
		s.rejected(w, r, err)
		return
	}
	ref, err := ObjectRef(req.Object)
	if err != nil {
		s.rejected(w, r, err)
		return
	}
	if err := uvm.CheckName(req.Selector); err != nil {
		s.rejected(w, r, fmt.Errorf("%w: selector: %w", ErrBadRequest, err))
		return
	}
	args := make([]any, len(req.Args))
	for i, a := range req.Args {
		if args[i], err = imageview.Decode(a); err != nil {
			s.rejected(w, r, fmt.Errorf("%w: argument %d: %w", ErrBadRequest, i, err))
			return
		}
	}
	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	// The grace period's end cancels running sends.
	stop := context.AfterFunc(s.abort, func() { cancel(context.Cause(s.abort)) })
	defer stop()
	if s.opts.SendTimeout > 0 {
		var c context.CancelFunc
		ctx, c = context.WithTimeout(ctx, s.opts.SendTimeout)
		defer c()
	}
	j := &job{ctx: ctx, ref: ref, selector: req.Selector, args: args, accepted: time.Now(), done: make(chan struct{})}
	if err := s.enqueue(j); err != nil {
		s.rejected(w, r, err)
		return
	}
	<-j.done // the worker always finishes a job, even a cancelled one
	result := resultOK
	if j.err != nil {
		result = resultFailed
		if _, body := Classify(j.err); body.Kind != KindCycleFailed && body.Kind != KindMethodFailed {
			result = resultError
		}
	}
	s.metrics.sends.WithLabelValues(result).Inc()
	s.metrics.sendTime.WithLabelValues(result).Observe(time.Since(j.accepted).Seconds())
	if j.err != nil {
		s.fail(w, r, j.err)
		return
	}
	reply(w, http.StatusOK, j.answer)
}

func (s *Server) rejected(w http.ResponseWriter, r *http.Request, err error) {
	s.metrics.sends.WithLabelValues(resultRejected).Inc()
	s.fail(w, r, err)
}

// enqueue hands j to the workers, or refuses it at once when the queue is
// full or the kernel is shutting down.
func (s *Server) enqueue(j *job) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closing {
		return ErrShuttingDown
	}
	select {
	case s.queue <- j:
		return nil
	default:
		return fmt.Errorf("%w (%d waiting)", ErrQueueFull, cap(s.queue))
	}
}

func (s *Server) work() {
	defer s.workers.Done()
	for j := range s.queue {
		s.run(j)
		close(j.done)
	}
}

func (s *Server) run(j *job) {
	if err := j.ctx.Err(); err != nil {
		j.err = s.cause(j.ctx, err)
		return
	}
	s.metrics.inflight.Inc()
	defer s.metrics.inflight.Dec()
	oid, err := s.resolve(j.ctx, j.ref)
	if err != nil {
		j.err = err
		return
	}
	answer, err := s.mind.Send(j.ctx, oid, j.selector, j.args...)
	s.graph.changed() // the send may have changed the graph, failed or not
	if err != nil {
		j.err = s.cause(j.ctx, err)
		return
	}
	j.answer = SendAnswer{Object: oid, Selector: j.selector, Answer: imageview.Plain(answer, -1), Millis: float64(time.Since(j.accepted).Microseconds()) / 1000}
}

// cause says "shutting down" for a send the grace period's end cancelled.
func (s *Server) cause(ctx context.Context, err error) error {
	if c := context.Cause(ctx); errors.Is(c, ErrShuttingDown) && !errors.Is(err, ErrShuttingDown) {
		return fmt.Errorf("%w: %w", ErrShuttingDown, err)
	}
	return err
}

// resolve finds a receiver's OID. A root found once is remembered: while
// the kernel holds the image, nothing it runs can point a root elsewhere
// (generated methods cannot, and the image is locked to this process).
func (s *Server) resolve(ctx context.Context, ref string) (uvm.OID, error) {
	if oid, ok := s.roots.Load(ref); ok {
		return oid.(uvm.OID), nil
	}
	var oid uvm.OID
	err := s.mind.Image().View(ctx, func(tx *uvm.Tx) error {
		o, err := imageview.Resolve(tx, ref)
		if err != nil {
			return err
		}
		oid = o.OID()
		return nil
	})
	if err == nil {
		s.roots.Store(ref, oid)
	}
	return oid, err
}
