package kernel

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
)

// The routes below are the kernel's side of what the inspector's buttons
// do: decide on a pending cycle, revert a method. They call psm's host
// door (Mind.Pending, Approve, Reject, Edit, Revert); who acts is the
// request's "by", else "kernel" (the token's holder).

// decidedBy names who acts when a request does not say.
const decidedBy = "kernel"

// Pending is one cycle awaiting approval, as GET /api/pending lists it:
// psm's Approval with its cycle id also as "id".
type Pending struct {
	ID string `json:"id"`
	psm.Approval
}

// DecisionRequest is the body of POST /api/pending/{id}/{decision} and of
// POST /api/objects/{ref}/methods/{selector}/revert. Every field is
// optional but Source (edit) and Version (revert).
type DecisionRequest struct {
	By      string `json:"by,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Source  string `json:"source,omitempty"`  // edit: the edited source
	Version int    `json:"version,omitempty"` // revert: the version to restore
}

// VersionAnswer is the answer of approve, edit and revert: the version
// they installed.
type VersionAnswer struct {
	Object     uvm.OID `json:"object"`
	Selector   string  `json:"selector"`
	Version    int     `json:"version"`
	Author     string  `json:"author,omitempty"`
	Cycle      string  `json:"cycle,omitempty"`
	ApprovedBy string  `json:"approved_by,omitempty"`
	Restores   int     `json:"restores,omitempty"`
	Why        string  `json:"why,omitempty"`
	Source     string  `json:"source"`
}

func versionAnswer(v psm.Version) VersionAnswer {
	return VersionAnswer{
		Object: v.Object, Selector: v.Selector, Version: v.Version, Author: v.Author, Cycle: v.CycleID,
		ApprovedBy: v.ApprovedBy, Restores: v.Restores, Why: v.Why, Source: v.Source,
	}
}

// RejectAnswer is the answer of POST /api/pending/{id}/reject.
type RejectAnswer struct {
	Cycle   string `json:"cycle"`
	Verdict string `json:"verdict"`
	By      string `json:"by"`
	Reason  string `json:"reason,omitempty"`
}

// servePending is GET /api/pending: the cycles waiting for a decision,
// oldest request first.
func (s *Server) servePending(w http.ResponseWriter, r *http.Request) {
	aps, err := s.mind.Pending(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]Pending, len(aps))
	for i, ap := range aps {
		out[i] = Pending{ID: ap.CycleID, Approval: ap}
	}
	reply(w, http.StatusOK, out)
}

// decision reads the optional body of a decision or a revert.
func (s *Server) decision(w http.ResponseWriter, r *http.Request) (DecisionRequest, []psm.Option, error) {
	var req DecisionRequest
	if err := s.decodeBody(w, r, &req); err != nil && !errors.Is(err, io.EOF) {
		return req, nil, err
	}
	req.By = strings.TrimSpace(req.By)
	if req.By == "" {
		req.By = decidedBy
	}
	opts := []psm.Option{psm.By(req.By)}
	if req.Reason != "" {
		opts = append(opts, psm.Because(req.Reason))
	}
	return req, opts, nil
}

// serveDecision is POST /api/pending/{id}/{decision}: approve, reject or
// edit a pending cycle.
func (s *Server) serveDecision(w http.ResponseWriter, r *http.Request) {
	id, d := r.PathValue("id"), r.PathValue("decision")
	if d != "approve" && d != "reject" && d != "edit" {
		s.fail(w, r, fmt.Errorf("%w: POST %s: the decision is approve, reject or edit", ErrNoRoute, r.URL.Path))
		return
	}
	req, opts, err := s.decision(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var v psm.Version
	switch d {
	case "approve":
		v, err = s.mind.Approve(r.Context(), id, opts...)
	case "edit":
		if strings.TrimSpace(req.Source) == "" {
			s.fail(w, r, fmt.Errorf("%w: edit: the body's \"source\" is empty", ErrBadRequest))
			return
		}
		v, err = s.mind.Edit(r.Context(), id, req.Source, opts...)
	case "reject":
		if err = s.mind.Reject(r.Context(), id, req.Reason, psm.By(req.By)); err == nil {
			reply(w, http.StatusOK, RejectAnswer{Cycle: id, Verdict: psm.VerdictRejected, By: req.By, Reason: req.Reason})
			return
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	reply(w, http.StatusOK, versionAnswer(v))
}

// serveRevert is POST /api/objects/{ref}/methods/{selector}/revert: make
// an earlier version current again, as a new version.
func (s *Server) serveRevert(w http.ResponseWriter, r *http.Request) {
	req, opts, err := s.decision(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Version <= 0 {
		s.fail(w, r, fmt.Errorf("%w: revert: the body's \"version\" must be a version number (1 or more)", ErrBadRequest))
		return
	}
	oid, err := s.resolve(r.Context(), r.PathValue("ref"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	selector := r.PathValue("selector")
	if err := uvm.CheckName(selector); err != nil {
		s.fail(w, r, fmt.Errorf("%w: selector: %w", ErrBadRequest, err))
		return
	}
	v, err := s.mind.Revert(r.Context(), oid, selector, req.Version, opts...)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	reply(w, http.StatusOK, versionAnswer(v))
}
