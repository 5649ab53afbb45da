package guardian

import (
	"go/ast"
	"go/token"
)

// The alias analysis of the covenant: unification of memory, in the style
// of Steensgaard. It finds every expression that may denote memory owned
// by a slot: values from Get (directly, through type assertions, aliases,
// closures, helper parameters and results, containers that hold them) and
// values given to Set or Send (from the call on: see storeBits).

// A node is a class of memory locations that may alias.
type node struct {
	parent *node
	elem   *node // what the memory contains (elements, fields, pointees)
	fns    []*fnInfo
	ptr    bool // may be a pointer (made by &x)
}

type valueCall struct {
	call   *ast.CallExpr
	callee *node
	args   []*node
	spread bool
	result *node
	bound  map[*fnInfo]bool
}

func (c *covenant) find(n *node) *node {
	for n.parent != nil {
		if n.parent.parent != nil {
			n.parent = n.parent.parent
		}
		n = n.parent
	}
	return n
}

func (c *covenant) union(a, b *node) {
	a, b = c.find(a), c.find(b)
	if a == b {
		return
	}
	if b == c.slot {
		a, b = b, a
	}
	b.parent = a
	a.ptr = a.ptr || b.ptr
	for _, f := range b.fns {
		a.fns = addFn(a.fns, f)
	}
	switch {
	case a == c.slot:
		if b.elem != nil {
			c.union(c.slot, b.elem)
		}
	case a.elem == nil:
		a.elem = b.elem
	case b.elem != nil:
		c.union(a.elem, b.elem)
	}
}

func addFn(fns []*fnInfo, f *fnInfo) []*fnInfo {
	for _, g := range fns {
		if g == f {
			return fns
		}
	}
	return append(fns, f)
}

func (c *covenant) elem(n *node) *node {
	r := c.find(n)
	if r.elem == nil {
		r.elem = &node{}
	}
	return c.find(r.elem)
}

// isSlot reports whether e is slot memory at a point where the values
// stored so far are those of stored.
func (c *covenant) isSlot(e ast.Expr, stored uint64) bool {
	n := c.exprs[e]
	return n != nil && c.slotClass(c.find(n), stored)
}

func (c *covenant) slotClass(r *node, stored uint64) bool {
	return r == c.slot || c.cover[r]&stored != 0
}

// pointsToSlot reports whether e is slot memory or a pointer to it.
func (c *covenant) pointsToSlot(e ast.Expr, stored uint64) bool {
	n := c.exprs[e]
	if n == nil {
		return false
	}
	r := c.find(n)
	return c.slotClass(r, stored) || (r.ptr && r.elem != nil && c.slotClass(c.find(r.elem), stored))
}

func (c *covenant) varNode(obj *object) *node {
	n := c.vars[obj]
	if n == nil {
		n = &node{}
		c.vars[obj] = n
	}
	return n
}

func (c *covenant) fnNode(f *fnInfo) *node { return &node{fns: []*fnInfo{f}} }

// aliases builds the alias classes of the whole file.
func (c *covenant) aliases() {
	u := c.u
	for _, f := range u.fns.all {
		f.cov.result = &node{}
		for _, fld := range f.typ.Params.List {
			n := max(1, len(fld.Names))
			for i := 0; i < n; i++ {
				if i < len(fld.Names) && u.obj(fld.Names[i]) != nil {
					f.cov.params = append(f.cov.params, c.varNode(u.obj(fld.Names[i])))
				} else {
					f.cov.params = append(f.cov.params, &node{})
				}
			}
		}
		if f.typ.Results != nil {
			for _, fld := range f.typ.Results.List {
				for _, id := range fld.Names {
					if o := u.obj(id); o != nil {
						c.union(f.cov.result, c.varNode(o))
					}
				}
			}
		}
	}
	for _, f := range u.fns.all {
		c.stmts(f, f.body.List)
	}
	c.findResliced()
	// Calls through function values: bind the functions that flow to the
	// callee until nothing new flows.
	for changed := true; changed; {
		changed = false
		for _, vc := range c.calls {
			for _, f := range c.find(vc.callee).fns {
				if vc.bound[f] {
					continue
				}
				vc.bound[f] = true
				changed = true
				c.bindValue(f, vc)
			}
		}
	}
	for _, vc := range c.calls {
		if len(c.find(vc.callee).fns) == 0 {
			// A function value from nowhere the guardian sees: assume the
			// worst of what it does with its arguments and returns.
			for _, a := range vc.args {
				c.union(a, c.slot)
			}
			c.union(vc.result, c.slot)
		}
	}
	c.storeBits()
}

// storeBits gives each class of stored values a bit, and marks every
// class reachable from it (its elements, theirs, ...) with the bit.
func (c *covenant) storeBits() {
	bits := map[*node]uint64{}
	for _, st := range c.sites {
		r := c.find(st.n)
		if r == c.slot {
			continue
		}
		b, ok := bits[r]
		if !ok {
			b = 1 << min(len(bits), 63)
			bits[r] = b
			for x, i := r, 0; x != nil && x != c.slot && i < 16; i++ {
				c.cover[x] |= b
				if x.elem == nil {
					break
				}
				x = c.find(x.elem)
			}
		}
		c.siteBits[st.call] |= b
	}
}

func (c *covenant) bindValue(f *fnInfo, vc *valueCall) {
	switch f.cov.pseudo {
	case pseudoNone:
		c.bindArgs(f, vc.args, vc.spread)
		c.union(vc.result, f.cov.result)
	case pseudoGet, pseudoSend:
		c.union(vc.result, c.slot)
		if f.cov.pseudo == pseudoSend {
			for _, a := range vc.args[min(1, len(vc.args)):] {
				c.sites = append(c.sites, storeSite{vc.call, a})
			}
		}
	case pseudoWrite:
		if len(vc.args) == 2 {
			c.sites = append(c.sites, storeSite{vc.call, vc.args[1]})
		}
	}
}

func (c *covenant) bindArgs(f *fnInfo, args []*node, spread bool) {
	ps := f.cov.params
	variadic := false
	if fl := f.typ.Params.List; len(fl) > 0 {
		_, variadic = fl[len(fl)-1].Type.(*ast.Ellipsis)
	}
	for i, a := range args {
		switch {
		case i < len(ps)-1 || (!variadic && i < len(ps)):
			c.union(ps[i], a)
		case variadic && spread:
			c.union(ps[len(ps)-1], a)
		case variadic:
			c.union(c.elem(ps[len(ps)-1]), a)
		}
	}
}

func (c *covenant) stmts(f *fnInfo, list []ast.Stmt) {
	for _, s := range list {
		c.stmt(f, s)
	}
}

func (c *covenant) stmt(f *fnInfo, s ast.Stmt) {
	switch s := s.(type) {
	case *ast.AssignStmt:
		switch {
		case s.Tok != token.DEFINE && s.Tok != token.ASSIGN:
			for _, e := range s.Rhs {
				c.expr(e)
			}
			for _, e := range s.Lhs {
				c.expr(e)
			}
		case len(s.Lhs) == len(s.Rhs):
			for i := range s.Lhs {
				c.assign(s.Lhs[i], c.expr(s.Rhs[i]))
			}
		default:
			n := &node{}
			for _, r := range s.Rhs {
				c.union(n, c.expr(r))
			}
			for _, l := range s.Lhs {
				c.assign(l, n)
			}
		}
	case *ast.IncDecStmt:
		c.expr(s.X)
	case *ast.DeclStmt:
		gd, ok := s.Decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.VAR {
			return
		}
		for _, spec := range gd.Specs {
			vs, ok := spec.(*ast.ValueSpec)
			if !ok {
				continue
			}
			if len(vs.Values) == len(vs.Names) {
				for i := range vs.Names {
					c.assign(vs.Names[i], c.expr(vs.Values[i]))
				}
			} else {
				n := &node{}
				for _, v := range vs.Values {
					c.union(n, c.expr(v))
				}
				for _, id := range vs.Names {
					c.assign(id, n)
				}
			}
		}
	case *ast.ExprStmt:
		c.expr(s.X)
	case *ast.ReturnStmt:
		for _, r := range s.Results {
			c.union(f.cov.result, c.expr(r))
		}
	case *ast.BlockStmt:
		c.stmts(f, s.List)
	case *ast.IfStmt:
		if s.Init != nil {
			c.stmt(f, s.Init)
		}
		c.expr(s.Cond)
		c.stmt(f, s.Body)
		if s.Else != nil {
			c.stmt(f, s.Else)
		}
	case *ast.ForStmt:
		if s.Init != nil {
			c.stmt(f, s.Init)
		}
		if s.Cond != nil {
			c.expr(s.Cond)
		}
		if s.Post != nil {
			c.stmt(f, s.Post)
		}
		c.stmt(f, s.Body)
	case *ast.RangeStmt:
		x := c.expr(s.X)
		for _, e := range []ast.Expr{s.Key, s.Value} {
			if e != nil {
				c.assign(e, c.elem(x))
			}
		}
		c.stmt(f, s.Body)
	case *ast.SwitchStmt:
		if s.Init != nil {
			c.stmt(f, s.Init)
		}
		if s.Tag != nil {
			c.expr(s.Tag)
		}
		c.stmt(f, s.Body)
	case *ast.TypeSwitchStmt:
		if s.Init != nil {
			c.stmt(f, s.Init)
		}
		c.stmt(f, s.Assign)
		c.stmt(f, s.Body)
	case *ast.SelectStmt:
		c.stmt(f, s.Body)
	case *ast.CaseClause:
		for _, e := range s.List {
			c.expr(e)
		}
		c.stmts(f, s.Body)
	case *ast.CommClause:
		if s.Comm != nil {
			c.stmt(f, s.Comm)
		}
		c.stmts(f, s.Body)
	case *ast.LabeledStmt:
		c.stmt(f, s.Stmt)
	case *ast.DeferStmt:
		c.expr(s.Call)
	case *ast.GoStmt:
		c.expr(s.Call)
	case *ast.SendStmt:
		c.expr(s.Chan)
		c.union(c.expr(s.Value), c.slot)
	}
}

// assign makes lhs hold n.
func (c *covenant) assign(lhs ast.Expr, n *node) {
	switch l := lhs.(type) {
	case *ast.Ident:
		if o := c.u.obj(l); o != nil && l.Name != "_" {
			c.union(c.varNode(o), n)
		}
		c.exprs[l] = n
	case *ast.ParenExpr:
		c.assign(l.X, n)
	case *ast.IndexExpr:
		c.expr(l.Index)
		c.union(c.elem(c.expr(l.X)), n)
	case *ast.SelectorExpr:
		c.union(c.elem(c.expr(l.X)), n)
	case *ast.StarExpr:
		c.union(c.elem(c.expr(l.X)), n)
	default:
		c.expr(lhs)
	}
}

// expr returns the alias class of e (a fresh one for values that alias
// nothing, such as numbers).
func (c *covenant) expr(e ast.Expr) *node {
	if e == nil {
		return &node{}
	}
	if n := c.exprs[e]; n != nil {
		return n
	}
	n := c.expr1(e)
	c.exprs[e] = n
	return n
}

func (c *covenant) expr1(e ast.Expr) *node {
	u := c.u
	switch e := e.(type) {
	case *ast.Ident:
		o := u.obj(e)
		if o == nil {
			return &node{}
		}
		switch o.kind {
		case objVar:
			return c.varNode(o)
		case objFun:
			if f := u.fns.fnOf(e); f != nil {
				return c.fnNode(f)
			}
		}
		return &node{}
	case *ast.CompositeLit:
		n := &node{}
		for _, el := range e.Elts {
			if kv, ok := el.(*ast.KeyValueExpr); ok {
				c.expr(kv.Key)
				c.union(c.elem(n), c.expr(kv.Value))
				continue
			}
			c.union(c.elem(n), c.expr(el))
		}
		return n
	case *ast.FuncLit:
		if f := u.fns.byLit[e]; f != nil {
			return c.fnNode(f)
		}
		return &node{}
	case *ast.ParenExpr:
		return c.expr(e.X)
	case *ast.SelectorExpr:
		if path := u.pkgOf(e.X); path != "" {
			return c.fnNode(c.pseudos[pseudoHost])
		}
		x := c.expr(e.X)
		switch e.Sel.Name {
		case "Get":
			return c.fnNode(c.pseudos[pseudoGet])
		case "Set", "Delete":
			return c.fnNode(c.pseudos[pseudoWrite])
		case "MarkChanged":
			if c.isSelf(e.X) {
				return c.fnNode(c.pseudos[pseudoMark])
			}
			return c.fnNode(c.pseudos[pseudoNop])
		case "Send":
			return c.fnNode(c.pseudos[pseudoSend])
		}
		return c.elem(x)
	case *ast.IndexExpr:
		c.expr(e.Index)
		return c.elem(c.expr(e.X))
	case *ast.IndexListExpr:
		c.expr(e.X)
		return &node{}
	case *ast.SliceExpr:
		c.expr(e.Low)
		c.expr(e.High)
		c.expr(e.Max)
		return c.expr(e.X)
	case *ast.StarExpr:
		return c.elem(c.expr(e.X))
	case *ast.UnaryExpr:
		x := c.expr(e.X)
		if e.Op == token.AND {
			p := &node{ptr: true}
			c.union(c.elem(p), x)
			return p
		}
		return &node{}
	case *ast.BinaryExpr:
		c.expr(e.X)
		c.expr(e.Y)
		return &node{}
	case *ast.TypeAssertExpr:
		x := c.expr(e.X)
		if e.Type != nil && c.scalar(e.Type) {
			return &node{}
		}
		return x
	case *ast.KeyValueExpr:
		c.expr(e.Key)
		return c.expr(e.Value)
	case *ast.CallExpr:
		return c.call(e)
	}
	return &node{}
}

// scalar reports whether values of type t hold no memory a method could
// change in place.
func (c *covenant) scalar(t ast.Expr) bool {
	switch c.u.typeName(t) {
	case "any":
		return false
	case "":
		if sel, ok := t.(*ast.SelectorExpr); ok {
			// A standard or host value type (time.Time, batos.Ref); the
			// slice types of package sort share memory.
			path := c.u.pkgOf(sel.X)
			e, _ := stdEffects(path)
			return path != "" && !e.sharedTypes
		}
		return false
	}
	return true
}

func (c *covenant) call(e *ast.CallExpr) *node {
	u := c.u
	fun := ast.Unparen(e.Fun)
	args := func() []*node {
		ns := make([]*node, len(e.Args))
		for i, a := range e.Args {
			ns[i] = c.expr(a)
		}
		return ns
	}
	if u.isTypeExpr(fun) {
		ns := args()
		if len(ns) != 1 || c.scalar(fun) || u.isByteOrRuneSlice(fun) {
			return &node{}
		}
		return ns[0]
	}
	switch f := fun.(type) {
	case *ast.Ident:
		if u.obj(f) == nil {
			ns := args()
			switch f.Name {
			case "append":
				if len(ns) == 0 {
					return &node{}
				}
				r := ns[0]
				for i, a := range ns[1:] {
					if e.Ellipsis.IsValid() && i == len(ns)-2 {
						c.union(c.elem(r), c.elem(a))
					} else {
						c.union(c.elem(r), a)
					}
				}
				return r
			case "copy":
				if len(ns) == 2 {
					c.union(c.elem(ns[0]), c.elem(ns[1]))
				}
			}
			return &node{}
		}
		if h := u.fns.fnOf(f); h != nil {
			c.bindArgs(h, args(), e.Ellipsis.IsValid())
			return h.cov.result
		}
	case *ast.FuncLit:
		if l := u.fns.byLit[f]; l != nil {
			c.expr(f)
			c.bindArgs(l, args(), e.Ellipsis.IsValid())
			return l.cov.result
		}
	case *ast.SelectorExpr:
		if path := u.pkgOf(f.X); path != "" {
			ns := args()
			pkg, _ := stdEffects(path)
			switch {
			case stdFunc(path, f.Sel.Name).returnsFirst:
				if len(ns) > 0 {
					return ns[0]
				}
			case !pkg.fresh:
				// bytes.TrimSpace, sort.StringSlice, sort.Reverse, ...
				// may return (a wrapper of) what they are given.
				r := &node{}
				for _, a := range ns {
					c.union(r, a)
				}
				return r
			}
			return &node{}
		}
		x := c.expr(f.X)
		switch f.Sel.Name {
		case "Get":
			args()
			return c.slot
		case "Set":
			ns := args()
			if len(ns) == 2 {
				c.sites = append(c.sites, storeSite{e, ns[1]})
			}
			return &node{}
		case "Send":
			for _, a := range args()[min(1, len(e.Args)):] {
				c.sites = append(c.sites, storeSite{e, a})
			}
			return c.slot
		case "Delete", "Has", "OID", "MarkChanged":
			args()
			return &node{}
		}
		if c.funcFlds {
			return c.valueCall(c.elem(x), e, args())
		}
		args()
		return x
	}
	return c.valueCall(c.expr(fun), e, args())
}

func (c *covenant) valueCall(callee *node, e *ast.CallExpr, args []*node) *node {
	vc := &valueCall{call: e, callee: callee, args: args, spread: e.Ellipsis.IsValid(), result: &node{}, bound: map[*fnInfo]bool{}}
	c.calls = append(c.calls, vc)
	return vc.result
}

func (u *unit) isByteOrRuneSlice(t ast.Expr) bool {
	at, ok := t.(*ast.ArrayType)
	if !ok || at.Len != nil {
		return false
	}
	n := u.typeName(at.Elt)
	return n == "byte" || n == "rune" || n == "uint8" || n == "int32"
}

// findResliced finds the variables that may hold a reslice of a slice:
// appending to such a slice overwrites the elements after it.
func (c *covenant) findResliced() {
	type bind struct {
		obj *object
		rhs ast.Expr
	}
	var binds []bind
	add := func(l, r ast.Expr) {
		if id, ok := l.(*ast.Ident); ok && c.u.obj(id) != nil {
			binds = append(binds, bind{c.u.obj(id), r})
		}
	}
	for _, f := range c.u.fns.all {
		for _, n := range f.nodes.assigns {
			if len(n.Lhs) == len(n.Rhs) {
				for i := range n.Lhs {
					add(n.Lhs[i], n.Rhs[i])
				}
			}
		}
		for _, n := range f.nodes.specs {
			if len(n.Names) == len(n.Values) {
				for i := range n.Names {
					add(n.Names[i], n.Values[i])
				}
			}
		}
	}
	for changed := true; changed; {
		changed = false
		for _, b := range binds {
			if !c.resliced[b.obj] && c.reslice(b.rhs) {
				c.resliced[b.obj] = true
				changed = true
			}
		}
	}
}

// reslice reports whether e may be a reslice.
func (c *covenant) reslice(e ast.Expr) bool {
	switch e := ast.Unparen(e).(type) {
	case *ast.SliceExpr:
		return true
	case *ast.Ident:
		o := c.u.obj(e)
		return o != nil && c.resliced[o]
	case *ast.TypeAssertExpr:
		return c.reslice(e.X)
	case *ast.CallExpr:
		if c.u.isBuiltin(e.Fun, "append") && len(e.Args) > 0 {
			return c.reslice(e.Args[0])
		}
	}
	return false
}
