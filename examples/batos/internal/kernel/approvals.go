package kernel

import (
	"fmt"
	"net/http"

	"github.com/batos-dev/batos/examples/batos/internal/imageview"
	"github.com/batos-dev/batos/uvm"
)

// The routes below are the kernel's side of what the inspector's buttons
// do — decide on a pending cycle, revert a method — named now and
// answering 501 not_available until psm offers them. They never pretend:
// nothing is written.

// servePending is GET /api/pending: the cycles waiting for a decision.
func (s *Server) servePending(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, fmt.Errorf("%w: pending approvals (this kernel's psm holds no cycle for approval)", ErrNotAvailable))
}

// serveDecision is POST /api/pending/{id}/{decision}: approve, reject or
// edit a pending cycle.
func (s *Server) serveDecision(w http.ResponseWriter, r *http.Request) {
	switch d := r.PathValue("decision"); d {
	case "approve", "reject", "edit":
		s.fail(w, r, fmt.Errorf("%w: %s cycle %s (this kernel's psm holds no cycle for approval)", ErrNotAvailable, d, r.PathValue("id")))
	default:
		s.fail(w, r, fmt.Errorf("%w: POST %s: the decision is approve, reject or edit", ErrNoRoute, r.URL.Path))
	}
}

// serveRevert is POST /api/objects/{ref}/methods/{selector}/revert: make
// an earlier version current again. The method must exist.
func (s *Server) serveRevert(w http.ResponseWriter, r *http.Request) {
	err := s.mind.Image().View(r.Context(), func(tx *uvm.Tx) error {
		o, err := imageview.Resolve(tx, r.PathValue("ref"))
		if err != nil {
			return err
		}
		_, _, err = imageview.Versions(tx, o, r.PathValue("selector"))
		return err
	})
	if err == nil {
		err = fmt.Errorf("%w: revert of %s (this kernel's psm has no revert)", ErrNotAvailable, r.PathValue("selector"))
	}
	s.fail(w, r, err)
}
