package guardian

import (
	"go/ast"
	"go/token"
)

// The covenant analysis proves that a method that writes state marks its
// object changed on every path that returns after the write.
//
// It has two parts. An alias analysis (unification of memory, in the style
// of Steensgaard) finds every expression that may denote memory owned by a
// slot: values from Get (directly, through type assertions, aliases,
// closures, helper parameters and results, containers that hold them) and
// values given to Set or Send. A path analysis then follows each function
// statement by statement with one bit, "a write happened that no mark has
// followed yet", plus the composed effect of the deferred calls
// registered so far; loops run to a fixpoint, calls apply the summary of
// the function called. Every return of the entry function must see the bit
// clear once its deferred calls have run.
//
// This file holds the rule itself: what it knows of a function, its
// set-up, and which variables certainly hold self. The alias analysis is
// in alias.go, the path analysis in paths.go, and what the standard
// library does with the memory it is given in effects.go.

// covFn is what the covenant analysis knows of one function.
type covFn struct {
	params   []*node // one per parameter
	result   *node   // all results share one node
	sum      tf      // effect of a call
	mayWrite bool    // a call may write state (even if it also marks)
	recovers bool    // it defers a call that may recover a panic
	hasRecov bool    // its own body calls recover
	pseudo   int     // for method values and host functions: one of pseudo*
	stores   uint64  // store bits a call may set
	deps     []*fnInfo
}

const (
	pseudoNone  = iota
	pseudoWrite // Set or Delete as a value
	pseudoMark  // MarkChanged of self as a value
	pseudoNop   // a function with no effect on the object
	pseudoGet   // Get as a value
	pseudoSend  // Send as a value
	pseudoHost  // a standard-library function as a value
)

// A covenant is one run of the covenant analysis over the file.
type covenant struct {
	u        *unit
	slot     *node // the memory owned by slots
	vars     map[*object]*node
	exprs    map[ast.Expr]*node
	calls    []*valueCall
	self     map[*object]bool // variables that certainly hold self
	pseudos  map[int]*fnInfo
	anyRecov bool
	funcFlds bool
	resliced map[*object]bool // variables that may hold a reslice (s[i:j]) of other memory

	// Values given to Set or Send become slot memory from then on (flow
	// sensitive: mutating a container before storing it is no write).
	sites    []storeSite
	siteBits map[*ast.CallExpr]uint64 // the store bits a call sets
	cover    map[*node]uint64         // class → bits of the stores that make it slot memory
}

type storeSite struct {
	call *ast.CallExpr
	n    *node
}

// covenant proves the persistence covenant for the entry function,
// rejecting every path that returns after a write without a mark, and sets
// u.writes.
func (u *unit) covenant() {
	if u.fns.entry == nil {
		return
	}
	c := &covenant{
		u:        u,
		slot:     &node{},
		vars:     make(map[*object]*node, 64),
		exprs:    make(map[ast.Expr]*node, len(u.src)/12+16),
		pseudos:  map[int]*fnInfo{},
		resliced: map[*object]bool{},
		siteBits: map[*ast.CallExpr]uint64{},
		cover:    map[*node]uint64{},
	}
	c.slot.elem = c.slot
	c.funcFlds = u.hasFuncFields()
	for k := pseudoWrite; k <= pseudoHost; k++ {
		f := &fnInfo{}
		f.cov.pseudo = k
		f.cov.result = &node{}
		switch k {
		case pseudoWrite:
			f.cov.sum, f.cov.mayWrite = tfWrite, true
		case pseudoMark:
			f.cov.sum = tfMark
		default:
			f.cov.sum = tfID
		}
		c.pseudos[k] = f
	}
	c.findSelf()
	c.aliases()
	c.summaries()
}

// findSelf finds the variables that certainly hold the entry's self: every
// value they are ever given is self.
func (c *covenant) findSelf() {
	u := c.u
	binds := map[*object][]ast.Expr{}
	unknown := map[*object]bool{}
	entryParams := u.entry.Type.Params.List
	if len(entryParams) > 0 && len(entryParams[0].Names) == 1 && u.obj(entryParams[0].Names[0]) != nil {
		obj := u.obj(entryParams[0].Names[0])
		binds[obj] = append(binds[obj], nil) // nil stands for the entry's own self
	}
	bind := func(l ast.Expr, r ast.Expr) {
		id, ok := l.(*ast.Ident)
		if !ok || u.obj(id) == nil || id.Name == "_" {
			return
		}
		obj := u.obj(id)
		if r == nil {
			unknown[obj] = true
			return
		}
		binds[obj] = append(binds[obj], r)
	}
	called := map[*ast.Ident]bool{}
	for _, f := range u.fns.all {
		if f.lit != nil {
			for _, fld := range f.typ.Params.List {
				for _, id := range fld.Names {
					bind(id, nil)
				}
			}
		}
		nd := &f.nodes
		for _, n := range nd.assigns {
			for i, l := range n.Lhs {
				if len(n.Lhs) == len(n.Rhs) && (n.Tok == token.DEFINE || n.Tok == token.ASSIGN) {
					bind(l, n.Rhs[i])
				} else {
					bind(l, nil)
				}
			}
		}
		for _, n := range nd.specs {
			for i, id := range n.Names {
				if len(n.Values) == len(n.Names) {
					bind(id, n.Values[i])
				} else {
					bind(id, nil)
				}
			}
		}
		for _, n := range nd.ranges {
			bind(n.Key, nil)
			bind(n.Value, nil)
		}
		for _, n := range nd.addrs {
			bind(ast.Unparen(n.X), nil)
		}
		for _, n := range nd.calls {
			id, ok := ast.Unparen(n.Fun).(*ast.Ident)
			if !ok {
				continue
			}
			h := u.fns.fnOf(id)
			if h == nil {
				continue
			}
			called[id] = true
			var names []*ast.Ident
			for _, fld := range h.typ.Params.List {
				if _, variadic := fld.Type.(*ast.Ellipsis); variadic {
					for _, pid := range fld.Names {
						bind(pid, nil)
					}
					continue
				}
				if len(fld.Names) == 0 {
					names = append(names, nil)
				}
				names = append(names, fld.Names...)
			}
			for i, a := range n.Args {
				if i < len(names) && names[i] != nil {
					bind(names[i], a)
				}
			}
		}
	}
	for _, f := range u.fns.all {
		for _, n := range f.nodes.funcIDs {
			if h := u.fns.fnOf(n); h != nil && !called[n] && !isDeclName(h, n) {
				for _, fld := range h.typ.Params.List {
					for _, pid := range fld.Names {
						bind(pid, nil)
					}
				}
			}
		}
	}
	c.self = map[*object]bool{}
	for obj := range binds {
		if !unknown[obj] {
			c.self[obj] = true
		}
	}
	for changed := true; changed; {
		changed = false
		for obj := range c.self {
			for _, r := range binds[obj] {
				if r != nil && !c.isSelf(r) {
					delete(c.self, obj)
					changed = true
					break
				}
			}
		}
	}
}

// isSelf reports whether e certainly denotes the entry's self.
func (c *covenant) isSelf(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.Ident:
		o := c.u.obj(e)
		return o != nil && c.self[o]
	case *ast.ParenExpr:
		return c.isSelf(e.X)
	case *ast.TypeAssertExpr:
		return c.isSelf(e.X)
	}
	return false
}
