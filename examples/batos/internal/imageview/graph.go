package imageview

import (
	"errors"
	"fmt"
	"sort"

	"github.com/batos-dev/batos/uvm"
)

// Graph view bounds.
const (
	// DefaultGraphLimit is how many children of one object a [Graph] shows
	// when [GraphQuery.Limit] is zero.
	DefaultGraphLimit = 24
	// maxGraphRoots bounds the roots of a view that have no parents of
	// their own (roots with parents are bounded per parent, by the limit).
	maxGraphRoots = 200
)

// Index is the object graph as far as the roots reach: every object found
// from the roots through parents and references (also references held in
// lists and maps), with its parents, its children and its counts. uvm
// lists no objects, so an object nothing reaches is not in the index (a
// [Graph] still shows it when it is the focus).
//
// Build an index once with [BuildIndex] and ask it for views with
// [Index.Graph] until the image changes. An Index is read-only once built
// and safe for concurrent use.
type Index struct {
	nodes   map[uvm.OID]*indexNode
	roots   []string           // root names, sorted
	rootOID map[string]uvm.OID // root name → object
	partial bool
}

type indexNode struct {
	names    []string
	parents  []uvm.OID
	children []uvm.OID // sorted
	slots    int       // own slots that are not behaviour (parents included)
	methods  int       // methods and primitives
}

// BuildIndex walks the image from its roots, reading at most max objects
// (zero or less: no bound). An index that stopped at max says so
// ([Index.Partial]).
func BuildIndex(tx *uvm.Tx, max int) (*Index, error) {
	roots, err := tx.Roots()
	if err != nil {
		return nil, err
	}
	ix := &Index{nodes: map[uvm.OID]*indexNode{}, rootOID: roots}
	for name := range roots {
		ix.roots = append(ix.roots, name)
	}
	sort.Strings(ix.roots)
	var queue []uvm.OID
	seen := map[uvm.OID]bool{}
	push := func(oid uvm.OID) {
		if !seen[oid] {
			seen[oid] = true
			queue = append(queue, oid)
		}
	}
	for _, name := range ix.roots {
		push(roots[name])
	}
	for len(queue) > 0 {
		if max > 0 && len(ix.nodes) >= max {
			ix.partial = true
			break
		}
		oid := queue[0]
		queue = queue[1:]
		o, err := tx.Object(oid)
		if errors.Is(err, uvm.ErrNotFound) {
			continue // a dangling reference
		}
		if err != nil {
			return nil, fmt.Errorf("imageview: object %d: %w", oid, err)
		}
		n := describeNode(o)
		ix.nodes[oid] = n
		for _, p := range n.parents {
			push(p)
		}
		for _, s := range o.Slots() {
			if s == uvm.ParentsSlot || o.IsBehaviour(s) {
				continue
			}
			v, _ := o.Get(s)
			eachRef(v, push)
		}
	}
	for name, oid := range roots {
		if n := ix.nodes[oid]; n != nil {
			n.names = append(n.names, name)
		}
	}
	for oid, n := range ix.nodes {
		sort.Strings(n.names)
		for _, p := range n.parents {
			if pn := ix.nodes[p]; pn != nil {
				pn.children = append(pn.children, oid)
			}
		}
	}
	for _, n := range ix.nodes {
		sort.Slice(n.children, func(i, j int) bool { return n.children[i] < n.children[j] })
	}
	return ix, nil
}

func describeNode(o *uvm.Object) *indexNode {
	n := &indexNode{parents: o.Parents()}
	for _, s := range o.Slots() {
		if o.IsBehaviour(s) {
			n.methods++
		} else {
			n.slots++
		}
	}
	return n
}

// eachRef calls fn for every reference v holds, in lists and maps too.
func eachRef(v any, fn func(uvm.OID)) {
	switch x := v.(type) {
	case uvm.Ref:
		fn(x.OID)
	case []any:
		for _, e := range x {
			eachRef(e, fn)
		}
	case map[string]any:
		for _, e := range x {
			eachRef(e, fn)
		}
	}
}

// Len is the number of objects in the index.
func (ix *Index) Len() int { return len(ix.nodes) }

// Partial reports whether the walk stopped at its bound before reaching
// every object.
func (ix *Index) Partial() bool { return ix.partial }

// GraphQuery selects a view of the graph.
type GraphQuery struct {
	// Focus, when not zero, adds this object, its ancestors and a page of
	// its children to the view.
	Focus uvm.OID
	// Limit bounds the children shown per object. Zero means
	// DefaultGraphLimit.
	Limit int
	// Offset is where the page of the focus's children starts.
	Offset int
}

// GraphNode is one object of a [Graph].
type GraphNode struct {
	OID      uvm.OID   `json:"oid"`
	Names    []string  `json:"names,omitempty"` // root names, sorted
	Parents  []uvm.OID `json:"parents"`         // in lookup order
	Children int       `json:"children"`        // objects that list it as a parent, shown or not
	Slots    int       `json:"slots"`           // own slots that are not behaviour (parents included)
	Methods  int       `json:"methods"`         // methods and primitives
	// Detached says the object is not reachable from the roots (it is
	// shown because it is the focus or one of its ancestors).
	Detached bool `json:"detached,omitempty"`
}

// More says that an object of a [Graph] has children the view leaves
// out: Shown of Total are in the view; for the focus they are the page
// starting at Offset.
type More struct {
	Parent uvm.OID `json:"parent"`
	Shown  int     `json:"shown"`
	Total  int     `json:"total"`
	Offset int     `json:"offset,omitempty"`
}

// Graph is a view of the object graph small enough to draw: the roots
// (each object showing at most Limit root children), the focus with its
// ancestors and a page of its children, and every ancestor of what is
// shown. Edges are the nodes' Parents.
type Graph struct {
	Objects     int         `json:"objects"`           // objects in the index
	Partial     bool        `json:"partial,omitempty"` // the index stopped at its bound
	Roots       int         `json:"roots"`             // named roots in all
	RootsHidden int         `json:"roots_hidden,omitempty"`
	Focus       uvm.OID     `json:"focus,omitempty"`
	Limit       int         `json:"limit"`
	Nodes       []GraphNode `json:"nodes"`
	More        []More      `json:"more"`
}

// Graph draws a view from the index. The focus and any of its ancestors
// the index does not hold are read from tx; a focus that does not exist
// is an error wrapping ErrNoObject.
func (ix *Index) Graph(tx *uvm.Tx, q GraphQuery) (Graph, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultGraphLimit
	}
	g := Graph{Objects: len(ix.nodes), Partial: ix.partial, Roots: len(ix.roots), Focus: q.Focus, Limit: limit,
		Nodes: []GraphNode{}, More: []More{}}
	shown := map[uvm.OID]bool{}
	var order []uvm.OID
	extra := map[uvm.OID]*indexNode{} // detached objects read from tx
	node := func(oid uvm.OID) *indexNode {
		if n := ix.nodes[oid]; n != nil {
			return n
		}
		return extra[oid]
	}
	var add func(oid uvm.OID) error
	add = func(oid uvm.OID) error { // oid and its ancestors
		if shown[oid] {
			return nil
		}
		n := node(oid)
		if n == nil {
			o, err := tx.Object(oid)
			if errors.Is(err, uvm.ErrNotFound) {
				return nil // a dangling parent: the edge goes nowhere
			}
			if err != nil {
				return err
			}
			n = describeNode(o)
			extra[oid] = n
		}
		shown[oid] = true
		order = append(order, oid)
		for _, p := range n.parents {
			if err := add(p); err != nil {
				return err
			}
		}
		return nil
	}

	if q.Focus != 0 {
		if node(q.Focus) == nil {
			if _, err := tx.Object(q.Focus); errors.Is(err, uvm.ErrNotFound) {
				return Graph{}, &notFoundError{fmt.Sprintf("imageview: no object %d", q.Focus), ErrNoObject, err}
			}
		}
		if err := add(q.Focus); err != nil {
			return Graph{}, err
		}
		if n := node(q.Focus); n != nil {
			for _, c := range page(n.children, q.Offset, limit) {
				if err := add(c); err != nil {
					return Graph{}, err
				}
			}
		}
	}
	// The roots: those without parents up to maxGraphRoots, the others up
	// to limit per first parent.
	perParent := map[uvm.OID]int{}
	orphans := 0
	for _, name := range ix.roots {
		oid := ix.rootOID[name]
		n := ix.nodes[oid]
		if n == nil || shown[oid] {
			continue
		}
		if len(n.parents) == 0 {
			if orphans >= maxGraphRoots {
				g.RootsHidden++
				continue
			}
			orphans++
		} else {
			if perParent[n.parents[0]] >= limit {
				g.RootsHidden++
				continue
			}
			perParent[n.parents[0]]++
		}
		if err := add(oid); err != nil {
			return Graph{}, err
		}
	}

	childrenShown := map[uvm.OID]int{}
	for _, oid := range order {
		n := node(oid)
		gn := GraphNode{OID: oid, Names: n.names, Parents: n.parents, Children: len(n.children), Slots: n.slots, Methods: n.methods,
			Detached: ix.nodes[oid] == nil}
		if gn.Parents == nil {
			gn.Parents = []uvm.OID{}
		}
		for _, p := range n.parents {
			childrenShown[p]++
		}
		g.Nodes = append(g.Nodes, gn)
	}
	for _, gn := range g.Nodes {
		if shownN := childrenShown[gn.OID]; gn.Children > shownN {
			m := More{Parent: gn.OID, Shown: shownN, Total: gn.Children}
			if gn.OID == q.Focus {
				m.Offset = q.Offset
			}
			g.More = append(g.More, m)
		}
	}
	return g, nil
}

// page returns s[offset:offset+n], clipped to s.
func page(s []uvm.OID, offset, n int) []uvm.OID {
	if offset < 0 {
		offset = 0
	}
	if offset >= len(s) {
		return nil
	}
	return s[offset:min(offset+n, len(s))]
}
