package kernel

import (
	"context"
	"errors"
	"io/fs"
	"net/http"

	"github.com/batos-dev/batos/examples/batos/internal/imageview"
	"github.com/batos-dev/batos/examples/batos/internal/mission"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live"
)

var (
	// ErrQueueFull is returned when a send finds the queue full; the
	// kernel answers 503 with Retry-After.
	ErrQueueFull = errors.New("kernel: send queue is full")
	// ErrShuttingDown is returned when a send arrives, or is still
	// running, while the kernel shuts down.
	ErrShuttingDown = errors.New("kernel: shutting down")
	// ErrUnauthorized is returned when a request lacks the bearer token.
	ErrUnauthorized = errors.New("kernel: missing or wrong bearer token")
	// ErrBadRequest is returned for a request the kernel cannot read.
	ErrBadRequest = errors.New("kernel: bad request")
	// ErrTooLarge is returned when a request body exceeds Options.MaxBody.
	ErrTooLarge = errors.New("kernel: request body too large")
	// ErrNoRoute is returned for a path the kernel does not serve.
	ErrNoRoute = errors.New("kernel: no such route")
	// ErrMethodNotAllowed is returned for a path served for other HTTP
	// methods only.
	ErrMethodNotAllowed = errors.New("kernel: method not allowed")
	// ErrBriefModel is returned when the persona's model fails to answer
	// POST /api/brief.
	ErrBriefModel = errors.New("kernel: the model could not write the brief")
)

// Error kinds, the "kind" of an error body. Clients branch on them.
const (
	KindBadRequest       = "bad_request"
	KindUnauthorized     = "unauthorized"
	KindNotFound         = "not_found"
	KindNoRoute          = "no_route"
	KindMethodNotAllowed = "method_not_allowed"
	KindTooLarge         = "too_large"
	KindCycleFailed      = "cycle_failed"
	KindMethodFailed     = "method_failed"
	KindAmbiguous        = "ambiguous"
	KindConflict         = "conflict"
	KindQueueFull        = "queue_full"
	KindShuttingDown     = "shutting_down"
	KindTimeout          = "timeout"
	KindCanceled         = "canceled"
	KindInternal         = "internal"
	KindAwaitingApproval = "awaiting_approval" // a send's method waits for a person's decision
	KindNotPending       = "not_pending"       // approve, reject or edit of a cycle that awaits no decision
	KindInvalidSource    = "invalid_source"    // source a person installs, edits or reverts to fails validation
	KindBriefUnreadable  = "brief_unreadable"
	KindModelFailed      = "model_failed"
)

// ErrorBody is the JSON body of every error answer, and what
// `batos --json` prints for a failed command. The cycle fields are set
// when a cycle failed, or when a send's method awaits approval (409
// awaiting_approval: Cycle is the id to approve, reject or edit).
type ErrorBody struct {
	Error    string `json:"error"`
	Kind     string `json:"kind"`
	Cycle    string `json:"cycle,omitempty"`
	State    string `json:"state,omitempty"`
	Selector string `json:"selector,omitempty"`
	// Object is the receiver whose method awaits approval.
	Object   uvm.OID `json:"object,omitempty"`
	Attempts int     `json:"attempts,omitempty"`
	// Reply is the model's reply, when POST /api/brief could not read it.
	Reply string `json:"reply,omitempty"`
}

// Classify maps an error to its HTTP status and error body.
func Classify(err error) (int, ErrorBody) {
	body := ErrorBody{Error: err.Error()}
	var ce *psm.CycleError
	if errors.As(err, &ce) {
		body.Cycle, body.State, body.Selector, body.Attempts = ce.CycleID, string(ce.State), ce.Selector, ce.Attempts
	}
	var ae *psm.ApprovalError
	if errors.As(err, &ae) {
		body.Cycle, body.Selector, body.Object = ae.CycleID, ae.Selector, ae.Receiver
	}
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrShuttingDown):
		status, body.Kind = http.StatusServiceUnavailable, KindShuttingDown
	case errors.Is(err, ErrQueueFull):
		status, body.Kind = http.StatusServiceUnavailable, KindQueueFull
	case errors.Is(err, ErrUnauthorized):
		status, body.Kind = http.StatusUnauthorized, KindUnauthorized
	case errors.Is(err, ErrTooLarge):
		status, body.Kind = http.StatusRequestEntityTooLarge, KindTooLarge
	case errors.Is(err, ErrNoRoute):
		status, body.Kind = http.StatusNotFound, KindNoRoute
	case errors.Is(err, ErrMethodNotAllowed):
		status, body.Kind = http.StatusMethodNotAllowed, KindMethodNotAllowed
	case ae != nil:
		status, body.Kind = http.StatusConflict, KindAwaitingApproval
	case errors.Is(err, psm.ErrNotPending):
		status, body.Kind = http.StatusConflict, KindNotPending
	case errors.Is(err, psm.ErrInvalidSource):
		status, body.Kind = http.StatusUnprocessableEntity, KindInvalidSource
	case errors.Is(err, mission.ErrUnreadable):
		status, body.Kind = http.StatusUnprocessableEntity, KindBriefUnreadable
	case errors.Is(err, ErrBadRequest), errors.Is(err, imageview.ErrBadRef), errors.Is(err, uvm.ErrBadName),
		errors.Is(err, uvm.ErrUnstorable):
		status, body.Kind = http.StatusBadRequest, KindBadRequest
	case ce != nil:
		status, body.Kind = http.StatusUnprocessableEntity, KindCycleFailed
	case errors.Is(err, context.DeadlineExceeded):
		status, body.Kind = http.StatusGatewayTimeout, KindTimeout
	case errors.Is(err, context.Canceled):
		status, body.Kind = 499, KindCanceled // the client went away (nginx's code)
	case errors.Is(err, ErrBriefModel):
		status, body.Kind = http.StatusBadGateway, KindModelFailed
	case errors.Is(err, imageview.ErrNoObject), errors.Is(err, imageview.ErrNoMethod),
		errors.Is(err, imageview.ErrNoSlot), errors.Is(err, psm.ErrNoSuchCycle), errors.Is(err, psm.ErrNoSuchVersion), errors.Is(err, uvm.ErrNotFound),
		errors.Is(err, fs.ErrNotExist):
		status, body.Kind = http.StatusNotFound, KindNotFound
	case errors.Is(err, uvm.ErrAmbiguous):
		status, body.Kind = http.StatusConflict, KindAmbiguous
	case errors.Is(err, uvm.ErrConflict):
		status, body.Kind = http.StatusConflict, KindConflict
	case errors.Is(err, live.ErrMethod), errors.Is(err, live.ErrPanic), errors.Is(err, live.ErrBudget),
		errors.Is(err, live.ErrResult), errors.Is(err, live.ErrRefused), errors.Is(err, uvm.ErrNotMethod),
		errors.Is(err, uvm.ErrCovenant), errors.Is(err, uvm.ErrNotUnderstood), errors.Is(err, uvm.ErrTooDeep),
		errors.Is(err, uvm.ErrPanic):
		status, body.Kind = http.StatusUnprocessableEntity, KindMethodFailed
	default:
		body.Kind = KindInternal
	}
	return status, body
}
