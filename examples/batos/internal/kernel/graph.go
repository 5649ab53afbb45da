package kernel

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/batos-dev/batos/examples/batos/internal/imageview"
	"github.com/batos-dev/batos/uvm"
)

// maxIndex bounds the objects the graph index reads; beyond it the graph
// says it is partial.
const maxIndex = 200_000

// graphCache keeps the object graph's index between requests. Every send
// the kernel runs may change the graph, so each one bumps the generation,
// and the next graph request builds the index again.
type graphCache struct {
	gen   atomic.Uint64
	mu    sync.Mutex // held while building
	built uint64
	ix    *imageview.Index
}

// changed marks the index stale: called after every send.
func (c *graphCache) changed() { c.gen.Add(1) }

// index returns an index built at generation gen or later, building one
// in tx when needed; gen must be read before tx began, so a send that
// commits meanwhile makes the next request build again. Concurrent
// requests share one build.
func (c *graphCache) index(tx *uvm.Tx, gen uint64) (*imageview.Index, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ix != nil && c.built >= gen {
		return c.ix, nil
	}
	ix, err := imageview.BuildIndex(tx, maxIndex)
	if err != nil {
		return nil, err
	}
	c.ix, c.built = ix, gen
	return ix, nil
}

// serveGraph is GET /api/graph?focus=REF&limit=N&offset=K: a view of the
// object graph small enough to draw (imageview.Graph).
func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request) {
	q := imageview.GraphQuery{}
	for _, p := range []struct {
		name string
		dst  *int
		min  int
	}{{"limit", &q.Limit, 1}, {"offset", &q.Offset, 0}} {
		v := r.URL.Query().Get(p.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < p.min || n > 1000_000_000 {
			s.fail(w, r, fmt.Errorf("%w: %s %q: want a number from %d", ErrBadRequest, p.name, v, p.min))
			return
		}
		*p.dst = n
	}
	q.Limit = min(q.Limit, 500)
	var g imageview.Graph
	gen := s.graph.gen.Load()
	err := s.mind.Image().View(r.Context(), func(tx *uvm.Tx) error {
		if ref := r.URL.Query().Get("focus"); ref != "" {
			o, err := imageview.Resolve(tx, ref)
			if err != nil {
				return err
			}
			q.Focus = o.OID()
		}
		ix, err := s.graph.index(tx, gen)
		if err != nil {
			return err
		}
		g, err = ix.Graph(tx, q)
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	reply(w, http.StatusOK, g)
}
