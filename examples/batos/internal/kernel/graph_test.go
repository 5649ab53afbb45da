package kernel_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/batos-dev/batos/examples/batos/internal/kernel"
	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// graphNodes maps the nodes of a graph answer by OID.
func graphNodes(t *testing.T, a answer) map[float64]map[string]any {
	t.Helper()
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	nodes := map[float64]map[string]any{}
	for _, n := range a.body["nodes"].([]any) {
		m := n.(map[string]any)
		nodes[m["oid"].(float64)] = m
	}
	return nodes
}

// GET /api/graph shows genesis with its parents; a focus brings a page of
// its children; objects a send creates appear in the next answer.
func TestGraphRoute(t *testing.T) {
	f := newFixture(t, kernel.Options{}, "add.jsonl")
	g := f.mind.Genesis()
	nodes := graphNodes(t, f.do(t, "GET", "/api/graph", "", ""))
	gen := nodes[float64(g)]
	require.NotNil(t, gen, "genesis is a root")
	assert.Equal(t, []any{"genesis"}, gen["names"])
	parents := gen["parents"].([]any)
	require.Len(t, parents, 2)
	for _, p := range parents {
		assert.Contains(t, nodes, p, "genesis's parents are drawn")
	}

	// Children made outside the kernel's sends are seen once a send runs.
	require.NoError(t, f.mind.Image().Update(context.Background(), func(tx *uvm.Tx) error {
		o, err := tx.Object(g)
		if err != nil {
			return err
		}
		var kids []any
		for range 40 {
			k, err := tx.New()
			if err != nil {
				return err
			}
			if err := k.SetParents(o); err != nil {
				return err
			}
			kids = append(kids, k.Ref())
		}
		return o.Set("kids", kids)
	}))
	require.Equal(t, http.StatusOK, f.send(t, "genesis", "add", 1, 2).status)
	a := f.do(t, "GET", "/api/graph?focus=genesis&limit=10&offset=30", "", "")
	nodes = graphNodes(t, a)
	assert.Equal(t, float64(g), a.body["focus"])
	kids := 0
	for _, n := range nodes {
		if ps := n["parents"].([]any); len(ps) == 1 && ps[0] == float64(g) && n["names"] == nil {
			kids++
		}
	}
	assert.Equal(t, 10, kids, "a page of genesis's children")
	assert.Contains(t, a.body["more"], map[string]any{"parent": float64(g), "shown": float64(10), "total": float64(40), "offset": float64(30)})

	for _, tc := range []struct {
		path   string
		status int
		kind   string
	}{
		{"/api/graph?focus=nobody", 404, kernel.KindNotFound},
		{"/api/graph?limit=0", 400, kernel.KindBadRequest},
		{"/api/graph?offset=-1", 400, kernel.KindBadRequest},
	} {
		t.Run(tc.path, func(t *testing.T) {
			a := f.do(t, "GET", tc.path, "", "")
			assert.Equal(t, tc.status, a.status, "%s", a.raw)
			assert.Equal(t, tc.kind, a.body["kind"])
		})
	}
}

// The page and its files are served with a policy that keeps them to
// their own origin.
func TestInspectorFiles(t *testing.T) {
	f := newFixture(t, kernel.Options{}, "add.jsonl")
	for _, tc := range []struct{ path, ctype, contains string }{
		{"/", "text/html", "<title>batos"},
		{"/ui/app.js", "text/javascript", "EventSource"},
		{"/ui/app.css", "text/css", "--bg"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			a := f.do(t, "GET", tc.path, "", "")
			require.Equal(t, http.StatusOK, a.status)
			assert.Contains(t, a.header.Get("Content-Type"), tc.ctype)
			assert.Contains(t, a.header.Get("Content-Security-Policy"), "default-src 'self'")
			assert.Contains(t, string(a.raw), tc.contains)
		})
	}
	a := f.do(t, "GET", "/ui/nothing.js", "", "")
	assert.Equal(t, http.StatusNotFound, a.status)
}
