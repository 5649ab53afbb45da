package imageview_test

import (
	"fmt"
	"testing"

	"github.com/batos-dev/batos/examples/batos/internal/imageview"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// family is a small image: root "base" (no parents), root "mid" (parent
// base), 30 children of mid held in mid's "kids" list, every tenth of
// them a root, and one object nothing reaches (parent mid).
type family struct {
	im       *uvm.Image
	base     uvm.OID
	mid      uvm.OID
	kids     []uvm.OID
	detached uvm.OID
}

func newFamily(t *testing.T) family {
	t.Helper()
	f := family{im: uvmtest.Mem(t, uvm.Options{})}
	uvmtest.Update(t, f.im, func(tx *uvm.Tx) error {
		base, err := tx.New()
		if err != nil {
			return err
		}
		mid, err := tx.New()
		if err != nil {
			return err
		}
		if err := mid.SetParents(base); err != nil {
			return err
		}
		f.base, f.mid = base.OID(), mid.OID()
		var refs []any
		for i := range 30 {
			k, err := tx.New()
			if err != nil {
				return err
			}
			if err := k.SetParents(mid); err != nil {
				return err
			}
			if i%10 == 0 {
				if err := tx.SetRoot(fmt.Sprintf("kid%02d", i), k); err != nil {
					return err
				}
			}
			f.kids = append(f.kids, k.OID())
			refs = append(refs, map[string]any{"kid": k.Ref()})
		}
		if err := mid.Set("kids", refs); err != nil {
			return err
		}
		d, err := tx.New()
		if err != nil {
			return err
		}
		if err := d.SetParents(mid); err != nil {
			return err
		}
		f.detached = d.OID()
		if err := tx.SetRoot("base", base); err != nil {
			return err
		}
		return tx.SetRoot("mid", mid)
	})
	return f
}

func (f family) graph(t *testing.T, max int, q imageview.GraphQuery) (imageview.Graph, *imageview.Index) {
	t.Helper()
	var g imageview.Graph
	var ix *imageview.Index
	uvmtest.View(t, f.im, func(tx *uvm.Tx) error {
		var err error
		ix, err = imageview.BuildIndex(tx, max)
		require.NoError(t, err)
		g, err = ix.Graph(tx, q)
		return err
	})
	return g, ix
}

func oids(g imageview.Graph) map[uvm.OID]imageview.GraphNode {
	m := map[uvm.OID]imageview.GraphNode{}
	for _, n := range g.Nodes {
		m[n.OID] = n
	}
	return m
}

// The index reaches every object through parents and references (in
// lists and maps too); the default view shows the roots and their
// ancestors, and says which children it leaves out.
func TestGraphRoots(t *testing.T) {
	f := newFamily(t)
	g, ix := f.graph(t, 0, imageview.GraphQuery{Limit: 2})
	assert.Equal(t, 32, ix.Len(), "base, mid and 30 kids; the detached object is not reached")
	assert.False(t, ix.Partial())
	assert.Equal(t, 32, g.Objects)
	assert.Equal(t, 5, g.Roots)
	assert.Equal(t, 1, g.RootsHidden, "kid20: mid already shows two root children")
	nodes := oids(g)
	require.Len(t, nodes, 4, "base, mid, kid00, kid10")
	assert.Equal(t, []string{"base"}, nodes[f.base].Names)
	assert.Equal(t, []uvm.OID{f.base}, nodes[f.mid].Parents)
	assert.Equal(t, 30, nodes[f.mid].Children)
	assert.Equal(t, []uvm.OID{}, nodes[f.base].Parents)
	assert.Contains(t, g.More, imageview.More{Parent: f.mid, Shown: 2, Total: 30})
}

// A focus brings its ancestors and a page of its children; a detached
// object can be the focus; a missing one is ErrNoObject.
func TestGraphFocus(t *testing.T) {
	f := newFamily(t)
	g, _ := f.graph(t, 0, imageview.GraphQuery{Focus: f.mid, Limit: 5, Offset: 5})
	nodes := oids(g)
	for _, k := range f.kids[5:10] {
		assert.Contains(t, nodes, k, "the page of children")
	}
	assert.NotContains(t, nodes, f.kids[4])
	assert.NotContains(t, nodes, f.kids[11])
	assert.Contains(t, nodes, f.kids[0], "the roots are still shown")
	var more imageview.More
	for _, m := range g.More {
		if m.Parent == f.mid {
			more = m
		}
	}
	assert.Equal(t, imageview.More{Parent: f.mid, Shown: 8, Total: 30, Offset: 5}, more, "5 on the page, 3 roots")

	g, _ = f.graph(t, 0, imageview.GraphQuery{Focus: f.detached})
	nodes = oids(g)
	assert.True(t, nodes[f.detached].Detached)
	assert.Equal(t, []uvm.OID{f.mid}, nodes[f.detached].Parents)
	assert.False(t, nodes[f.mid].Detached)

	uvmtest.View(t, f.im, func(tx *uvm.Tx) error {
		ix, err := imageview.BuildIndex(tx, 0)
		require.NoError(t, err)
		_, err = ix.Graph(tx, imageview.GraphQuery{Focus: 9999})
		assert.ErrorIs(t, err, imageview.ErrNoObject)
		return nil
	})
}

// A bounded walk stops and says so.
func TestGraphPartial(t *testing.T) {
	f := newFamily(t)
	g, ix := f.graph(t, 10, imageview.GraphQuery{})
	assert.Equal(t, 10, ix.Len())
	assert.True(t, ix.Partial())
	assert.True(t, g.Partial)
}
