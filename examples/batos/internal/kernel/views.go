package kernel

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/batos-dev/batos/examples/batos/internal/imageview"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
)

// MethodVersions is the answer of GET /api/objects/{ref}/methods/{selector}.
type MethodVersions struct {
	Object   uvm.OID            `json:"object"`
	Selector string             `json:"selector"`
	Current  int                `json:"current"`  // the version the slot holds now
	Versions []imageview.Method `json:"versions"` // oldest first, with source
}

// view runs fn in a read-only transaction on the object the path's {ref}
// names, and answers what it returns.
func (s *Server) view(w http.ResponseWriter, r *http.Request, fn func(tx *uvm.Tx, o *uvm.Object) (any, error)) {
	var out any
	err := s.mind.Image().View(r.Context(), func(tx *uvm.Tx) error {
		o, err := imageview.Resolve(tx, r.PathValue("ref"))
		if err != nil {
			return err
		}
		out, err = fn(tx, o)
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	reply(w, http.StatusOK, out)
}

// serveSummary is GET /api/objects: the roots and counts.
func (s *Server) serveSummary(w http.ResponseWriter, r *http.Request) {
	var sum imageview.Summary
	err := s.mind.Image().View(r.Context(), func(tx *uvm.Tx) error {
		var err error
		sum, err = imageview.Summarize(tx)
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	reply(w, http.StatusOK, sum)
}

// serveObject is GET /api/objects/{ref}: slots, parents and methods.
func (s *Server) serveObject(w http.ResponseWriter, r *http.Request) {
	s.view(w, r, func(tx *uvm.Tx, o *uvm.Object) (any, error) {
		return imageview.Inspect(tx, o)
	})
}

// serveSlot is GET /api/objects/{ref}/slots/{name}: one slot, in full.
func (s *Server) serveSlot(w http.ResponseWriter, r *http.Request) {
	s.view(w, r, func(tx *uvm.Tx, o *uvm.Object) (any, error) {
		return imageview.SlotValue(tx, o, r.PathValue("name"))
	})
}

// serveMethod is GET /api/objects/{ref}/methods/{selector}: every kept
// version, with source.
func (s *Server) serveMethod(w http.ResponseWriter, r *http.Request) {
	s.view(w, r, func(tx *uvm.Tx, o *uvm.Object) (any, error) {
		sel := r.PathValue("selector")
		versions, current, err := imageview.Versions(tx, o, sel)
		if err != nil {
			return nil, err
		}
		return MethodVersions{Object: o.OID(), Selector: sel, Current: current, Versions: versions}, nil
	})
}

// serveVersion is GET /api/objects/{ref}/methods/{selector}/versions/{version}.
func (s *Server) serveVersion(w http.ResponseWriter, r *http.Request) {
	v, err := strconv.Atoi(r.PathValue("version"))
	if err != nil || v < 1 {
		s.fail(w, r, fmt.Errorf("%w: version %q: want a number from 1", ErrBadRequest, r.PathValue("version")))
		return
	}
	s.view(w, r, func(tx *uvm.Tx, o *uvm.Object) (any, error) {
		return imageview.Version(tx, o, r.PathValue("selector"), v)
	})
}

// serveCycles is GET /api/cycles?limit=N&before=ID: cycle summaries,
// newest first, a page at a time (limit defaults to 100).
func (s *Server) serveCycles(w http.ResponseWriter, r *http.Request) {
	q := imageview.CycleQuery{Limit: 100, Before: r.URL.Query().Get("before")}
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			s.fail(w, r, fmt.Errorf("%w: limit %q: want a positive number", ErrBadRequest, l))
			return
		}
		q.Limit = n
	}
	var page imageview.CyclePage
	err := s.mind.Image().View(r.Context(), func(tx *uvm.Tx) error {
		var err error
		page, err = imageview.Cycles(tx, q)
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	reply(w, http.StatusOK, page)
}

// serveCycle is GET /api/cycles/{id}: one cycle's whole record.
func (s *Server) serveCycle(w http.ResponseWriter, r *http.Request) {
	var rec psm.Record
	err := s.mind.Image().View(r.Context(), func(tx *uvm.Tx) error {
		var err error
		rec, err = imageview.CycleRecord(tx, r.PathValue("id"))
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	reply(w, http.StatusOK, rec)
}
