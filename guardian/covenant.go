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

// tf is the effect of a piece of code on the dirty bit: the bit after it,
// given the bit before it was clear (bit 0 of tf) or set (bit 1).
type tf uint8

const (
	tfMark  tf = 0 // clean whatever it was
	tfID    tf = 2 // unchanged
	tfWrite tf = 3 // dirty whatever it was
)

func mkTF(f0, f1 bool) tf {
	var t tf
	if f0 {
		t |= 1
	}
	if f1 {
		t |= 2
	}
	return t
}

// writes reports whether the effect dirties a clean state.
func (t tf) writes() bool { return t&1 != 0 }

func (t tf) apply(d bool) bool {
	if d {
		return t&2 != 0
	}
	return t&1 != 0
}

// then is t followed by v.
func (t tf) then(v tf) tf { return mkTF(v.apply(t.apply(false)), v.apply(t.apply(true))) }

func (t tf) join(v tf) tf { return t | v }

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

type covenant struct {
	u        *unit
	slot     *node // the memory owned by slots
	vars     map[*ast.Object]*node
	exprs    map[ast.Expr]*node
	calls    []*valueCall
	self     map[*ast.Object]bool // variables that certainly hold self
	pseudos  map[int]*fnInfo
	anyRecov bool
	funcFlds bool
	resliced map[*ast.Object]bool // variables that may hold a reslice (s[i:j]) of other memory

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

func (u *unit) covenant() {
	if u.fns.entry == nil {
		return
	}
	c := &covenant{
		u:        u,
		slot:     &node{},
		vars:     make(map[*ast.Object]*node, 64),
		exprs:    make(map[ast.Expr]*node, len(u.src)/12+16),
		pseudos:  map[int]*fnInfo{},
		resliced: map[*ast.Object]bool{},
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

// ---- alias analysis ----

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

func (c *covenant) varNode(obj *ast.Object) *node {
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
				if i < len(fld.Names) && fld.Names[i].Obj != nil {
					f.cov.params = append(f.cov.params, c.varNode(fld.Names[i].Obj))
				} else {
					f.cov.params = append(f.cov.params, &node{})
				}
			}
		}
		if f.typ.Results != nil {
			for _, fld := range f.typ.Results.List {
				for _, id := range fld.Names {
					if id.Obj != nil {
						c.union(f.cov.result, c.varNode(id.Obj))
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
		if l.Obj != nil && l.Name != "_" {
			c.union(c.varNode(l.Obj), n)
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
		if e.Obj == nil {
			return &node{}
		}
		switch e.Obj.Kind {
		case ast.Var:
			return c.varNode(e.Obj)
		case ast.Fun:
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
	switch typeName(t) {
	case "any":
		return false
	case "":
		if sel, ok := t.(*ast.SelectorExpr); ok {
			// A standard or host value type (time.Time, batos.Ref); the
			// slice types of package sort share memory.
			return c.u.pkgOf(sel.X) != "" && c.u.pkgOf(sel.X) != "sort"
		}
		return false
	}
	return true
}

// freshResults reports whether the functions of a standard package return
// values that share no memory with their arguments.
func freshResults(path string) bool {
	switch path {
	case "strings", "strconv", "fmt", "math", "math/bits", "math/rand", "unicode", "unicode/utf8", "unicode/utf16",
		"errors", "time", "regexp", "encoding/json", "encoding/hex", "encoding/base64", "hash/crc32", "html", "path",
		"crypto/md5", "crypto/sha1", "crypto/sha256", "crypto/sha512", "hash/adler32", "hash/fnv",
		"container/list", HostPackage:
		return true
	}
	return false
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
	if isTypeExpr(fun) {
		ns := args()
		if len(ns) != 1 || c.scalar(fun) || isByteOrRuneSlice(fun) {
			return &node{}
		}
		return ns[0]
	}
	switch f := fun.(type) {
	case *ast.Ident:
		if f.Obj == nil {
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
			switch {
			case (path == "strconv" && len(f.Sel.Name) > 6 && f.Sel.Name[:6] == "Append") ||
				(path == "unicode/utf8" && f.Sel.Name == "AppendRune"):
				if len(ns) > 0 {
					return ns[0]
				}
			case !freshResults(path):
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

func isByteOrRuneSlice(t ast.Expr) bool {
	at, ok := t.(*ast.ArrayType)
	if !ok || at.Len != nil {
		return false
	}
	n := typeName(at.Elt)
	return n == "byte" || n == "rune" || n == "uint8" || n == "int32"
}

// findResliced finds the variables that may hold a reslice of a slice:
// appending to such a slice overwrites the elements after it.
func (c *covenant) findResliced() {
	type bind struct {
		obj *ast.Object
		rhs ast.Expr
	}
	var binds []bind
	add := func(l, r ast.Expr) {
		if id, ok := l.(*ast.Ident); ok && id.Obj != nil {
			binds = append(binds, bind{id.Obj, r})
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
		return e.Obj != nil && c.resliced[e.Obj]
	case *ast.TypeAssertExpr:
		return c.reslice(e.X)
	case *ast.CallExpr:
		if isBuiltin(e.Fun, "append") && len(e.Args) > 0 {
			return c.reslice(e.Args[0])
		}
	}
	return false
}

// ---- self ----

// findSelf finds the variables that certainly hold the entry's self: every
// value they are ever given is self.
func (c *covenant) findSelf() {
	u := c.u
	binds := map[*ast.Object][]ast.Expr{}
	unknown := map[*ast.Object]bool{}
	entryParams := u.entry.Type.Params.List
	if len(entryParams) > 0 && len(entryParams[0].Names) == 1 && entryParams[0].Names[0].Obj != nil {
		obj := entryParams[0].Names[0].Obj
		binds[obj] = append(binds[obj], nil) // nil stands for the entry's own self
	}
	bind := func(l ast.Expr, r ast.Expr) {
		id, ok := l.(*ast.Ident)
		if !ok || id.Obj == nil || id.Name == "_" {
			return
		}
		if r == nil {
			unknown[id.Obj] = true
			return
		}
		binds[id.Obj] = append(binds[id.Obj], r)
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
	c.self = map[*ast.Object]bool{}
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
		return e.Obj != nil && c.self[e.Obj]
	case *ast.ParenExpr:
		return c.isSelf(e.X)
	case *ast.TypeAssertExpr:
		return c.isSelf(e.X)
	}
	return false
}

// ---- path analysis ----

// summaries computes the effect of every function to a fixpoint, then
// checks the entry.
func (c *covenant) summaries() {
	u := c.u
	for _, f := range u.fns.all {
		f.cov.sum = tfMark // bottom: no path returns dirty
		f.cov.hasRecov = ownRecover(f)
		if f.cov.hasRecov {
			c.anyRecov = true
		}
	}
	for _, f := range u.fns.all {
		f.cov.recovers = c.defersRecover(f)
	}
	// The entry's own summary matters only if something calls it.
	entryCalled := false
	for _, f := range u.fns.all {
		for _, g := range f.callees {
			entryCalled = entryCalled || g.entry
		}
	}
	var work []*fnInfo
	queued := map[*fnInfo]bool{}
	for _, f := range u.fns.all {
		if !f.entry || entryCalled {
			work = append(work, f)
			queued[f] = true
		}
	}
	for steps := 0; len(work) > 0 && steps < 64*len(u.fns.all)+64; steps++ {
		f := work[0]
		work = work[1:]
		queued[f] = false
		r0 := c.run(f, false, false)
		sum, mw, stores := mkTF(r0.out, r0.reached), r0.wrote, r0.stores
		if r0.touched {
			// Only a function that touches the bit can behave differently
			// when called dirty.
			r1 := c.run(f, true, false)
			sum, mw, stores = mkTF(r0.out, r1.out), mw || r1.wrote, stores|r1.stores
		}
		if sum != f.cov.sum || mw != f.cov.mayWrite || stores != f.cov.stores {
			f.cov.sum, f.cov.mayWrite, f.cov.stores = sum, mw, stores
			for _, d := range f.cov.deps {
				if !queued[d] {
					queued[d] = true
					work = append(work, d)
				}
			}
		}
	}
	u.writes = c.run(u.fns.entry, false, true).wrote
}

// ownRecover reports whether f's own body calls recover.
func ownRecover(f *fnInfo) bool {
	for _, call := range f.nodes.calls {
		if isBuiltin(call.Fun, "recover") {
			return true
		}
	}
	return false
}

// defersRecover reports whether f defers a call that may recover a panic.
func (c *covenant) defersRecover(f *fnInfo) bool {
	for _, d := range f.nodes.defers {
		switch fun := ast.Unparen(d.Call.Fun).(type) {
		case *ast.FuncLit:
			if l := c.u.fns.byLit[fun]; l != nil && l.cov.hasRecov {
				return true
			}
		case *ast.Ident:
			if fun.Obj == nil {
				if fun.Name == "recover" {
					return true
				}
			} else if h := c.u.fns.fnOf(fun); h != nil {
				if h.cov.hasRecov {
					return true
				}
			} else if c.anyRecov {
				return true
			}
		case *ast.SelectorExpr:
			if c.u.pkgOf(fun.X) == "" && c.anyRecov && c.funcFlds {
				return true
			}
		default:
			if c.anyRecov {
				return true
			}
		}
	}
	return false
}

// flow is the state at one point of a path.
type flow struct {
	live  bool
	dirty bool      // a write happened that no mark followed
	exit  tf        // the deferred calls registered so far, in the order they will run
	wpos  token.Pos // the write that made the state dirty
	dpos  token.Pos // a deferred write

	stored uint64 // the store bits of the Set and Send calls made so far
}

func join(a, b flow) flow {
	switch {
	case !a.live:
		return b
	case !b.live:
		return a
	}
	r := flow{live: true, dirty: a.dirty || b.dirty, exit: a.exit.join(b.exit), wpos: a.wpos, dpos: a.dpos, stored: a.stored | b.stored}
	if !a.dirty {
		r.wpos = b.wpos
	}
	if r.dpos == token.NoPos {
		r.dpos = b.dpos
	}
	return r
}

func same(a, b flow) bool {
	return a.live == b.live && a.dirty == b.dirty && a.exit == b.exit && a.stored == b.stored
}

type frame struct {
	stmt   ast.Stmt
	label  string
	isLoop bool
	brk    flow
	cont   flow
	jumps  []jump // jumps leaving this loop, for the memo
}

type jump struct {
	target ast.Stmt
	cont   bool
	st     flow
}

type memoKey struct {
	stmt   ast.Stmt
	dirty  bool
	exit   tf
	stored uint64
}

type memoVal struct {
	out   flow
	jumps []jump
}

// run is one analysis of one function.
type run struct {
	c       *covenant
	f       *fnInfo
	report  bool
	out     bool // some exit is dirty
	reached bool // some exit is reachable
	touched bool // some effect on the bit was applied
	wrote   bool
	stores  uint64
	frames  []*frame
	memo    map[memoKey]memoVal
	errHint *errHint
	found   int

	pendingLabel string
	fallState    flow
}

type errHint struct {
	obj *ast.Object
	pre flow
}

func (c *covenant) run(f *fnInfo, dirty, report bool) *run {
	r := &run{c: c, f: f, report: report}
	st := r.block(f.body.List, flow{live: true, dirty: dirty, exit: tfID})
	r.exit(st, f.body.Rbrace, false)
	return r
}

// exit records a way out of the function.
func (r *run) exit(st flow, at token.Pos, recovered bool) {
	if !st.live {
		return
	}
	r.reached = true
	d := st.exit.apply(st.dirty)
	if !d {
		return
	}
	r.out = true
	if !r.report || r.found >= 5 {
		return
	}
	r.found++
	u := r.c.u
	self := u.selfName
	if self == "" {
		self = "self"
	}
	fix := "add `defer " + self + ".MarkChanged()` as the first statement of " + u.selector + ", or call " + self + ".MarkChanged() after the last write on every path"
	switch {
	case recovered:
		u.reject(RuleCovenant, at, "this write may be followed by a panic that a deferred recover turns into a normal return, without %s.MarkChanged(), and the change would be lost: put `defer %s.MarkChanged()` first in %s", self, self, u.selector)
	case !st.dirty:
		u.reject(RuleCovenant, at, "the deferred call at line %d writes state after the deferred MarkChanged has run (deferred calls run last first), so the change would be lost: defer %s.MarkChanged() before deferring the write", u.position(st.dpos).Line, self)
	case at == r.f.body.Rbrace:
		u.reject(RuleCovenant, at, "the end of %s can be reached after the write at line %d without %s.MarkChanged(), and the change would be lost: %s", u.selector, u.position(st.wpos).Line, self, fix)
	default:
		u.reject(RuleCovenant, at, "this return can be reached after the write at line %d without %s.MarkChanged(), and the change would be lost: %s", u.position(st.wpos).Line, self, fix)
	}
}

func (r *run) block(list []ast.Stmt, st flow) flow {
	for i, s := range list {
		if !st.live {
			return st
		}
		if as, ok := s.(*ast.AssignStmt); ok && i+1 < len(list) {
			if obj := r.c.errAssign(as); obj != nil {
				if ifs, ok := list[i+1].(*ast.IfStmt); ok && ifs.Init == nil {
					pre := st
					st = r.stmt(s, st)
					r.errHint = &errHint{obj: obj, pre: pre}
					continue
				}
			}
		}
		st = r.stmt(s, st)
		r.errHint = nil
	}
	return st
}

// errAssign recognises `err := x.Set(...)` (or Delete, or =) and returns
// the error variable.
func (c *covenant) errAssign(s ast.Stmt) *ast.Object {
	as, ok := s.(*ast.AssignStmt)
	if !ok || len(as.Lhs) != 1 || len(as.Rhs) != 1 || (as.Tok != token.DEFINE && as.Tok != token.ASSIGN) {
		return nil
	}
	id, ok := as.Lhs[0].(*ast.Ident)
	if !ok || id.Obj == nil {
		return nil
	}
	call, ok := as.Rhs[0].(*ast.CallExpr)
	if !ok {
		return nil
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || (sel.Sel.Name != "Set" && sel.Sel.Name != "Delete") || c.u.pkgOf(sel.X) != "" {
		return nil
	}
	return id.Obj
}

// errCond recognises `err != nil` (1) and `err == nil` (-1).
func errCond(e ast.Expr, obj *ast.Object) int {
	b, ok := e.(*ast.BinaryExpr)
	if !ok {
		return 0
	}
	id, ok := b.X.(*ast.Ident)
	if !ok || id.Obj != obj || !isBuiltin(b.Y, "nil") {
		return 0
	}
	switch b.Op {
	case token.NEQ:
		return 1
	case token.EQL:
		return -1
	}
	return 0
}

func (r *run) stmt(s ast.Stmt, st flow) flow {
	if !st.live {
		return st
	}
	c := r.c
	switch s := s.(type) {
	case *ast.ExprStmt:
		st = r.expr(s.X, st)
		if call, ok := s.X.(*ast.CallExpr); ok && isBuiltin(call.Fun, "panic") {
			st.live = false
		}
	case *ast.AssignStmt:
		for _, e := range s.Rhs {
			st = r.expr(e, st)
		}
		for _, l := range s.Lhs {
			st = r.store(l, st)
		}
	case *ast.IncDecStmt:
		st = r.store(s.X, st)
	case *ast.DeclStmt:
		if gd, ok := s.Decl.(*ast.GenDecl); ok {
			for _, spec := range gd.Specs {
				if vs, ok := spec.(*ast.ValueSpec); ok {
					for _, v := range vs.Values {
						st = r.expr(v, st)
					}
				}
			}
		}
	case *ast.ReturnStmt:
		for _, e := range s.Results {
			st = r.expr(e, st)
		}
		r.exit(st, s.Pos(), false)
		st.live = false
	case *ast.BlockStmt:
		st = r.block(s.List, st)
	case *ast.IfStmt:
		hint := r.errHint
		r.errHint = nil
		pre := st
		var obj *ast.Object
		if s.Init != nil {
			obj = c.errAssign(s.Init)
			st = r.stmt(s.Init, st)
		} else if hint != nil {
			obj, pre = hint.obj, hint.pre
		}
		st = r.expr(s.Cond, st)
		thenIn, elseIn := st, st
		switch errCond(s.Cond, obj) {
		case 1:
			thenIn = keepDefers(pre, st)
		case -1:
			elseIn = keepDefers(pre, st)
		}
		a := r.stmt(s.Body, thenIn)
		b := elseIn
		if s.Else != nil {
			b = r.stmt(s.Else, elseIn)
		}
		st = join(a, b)
	case *ast.ForStmt:
		if s.Init != nil {
			st = r.stmt(s.Init, st)
		}
		st = r.loop(s, st, func(head flow) (flow, flow) {
			if s.Cond != nil {
				head = r.expr(s.Cond, head)
			}
			return head, head
		}, func(end flow) flow {
			if s.Post != nil {
				end = r.stmt(s.Post, end)
			}
			return end
		}, s.Cond == nil)
	case *ast.RangeStmt:
		st = r.expr(s.X, st)
		st = r.loop(s, st, func(head flow) (flow, flow) {
			for _, e := range []ast.Expr{s.Key, s.Value} {
				if e != nil && s.Tok == token.ASSIGN {
					head = r.store(e, head)
				}
			}
			return head, head
		}, func(end flow) flow { return end }, false)
	case *ast.SwitchStmt:
		if s.Init != nil {
			st = r.stmt(s.Init, st)
		}
		if s.Tag != nil {
			st = r.expr(s.Tag, st)
		}
		st = r.cases(s, s.Body, st)
	case *ast.TypeSwitchStmt:
		if s.Init != nil {
			st = r.stmt(s.Init, st)
		}
		st = r.stmt(s.Assign, st)
		st = r.cases(s, s.Body, st)
	case *ast.SelectStmt:
		st = r.cases(s, s.Body, st)
	case *ast.LabeledStmt:
		st = r.labeled(s, st)
	case *ast.BranchStmt:
		r.branch(s, st)
		st.live = false
	case *ast.DeferStmt:
		st = r.callee(s.Call, st)
		for _, a := range s.Call.Args {
			st = r.expr(a, st)
		}
		t, writes, stores := r.effect(s.Call, st.stored)
		r.stores |= stores
		if writes {
			r.wrote = true
		}
		if t.writes() && !st.dpos.IsValid() {
			st.dpos = s.Pos()
		}
		if t != tfID {
			r.touched = true
		}
		st.exit = t.then(st.exit)
	case *ast.GoStmt:
		st = r.callee(s.Call, st)
		for _, a := range s.Call.Args {
			st = r.expr(a, st)
		}
		t, writes, stores := r.effect(s.Call, st.stored)
		r.stores |= stores
		after := r.apply(st, t, writes, s.Pos())
		after.stored |= stores
		st = join(st, after)
	case *ast.SendStmt:
		st = r.expr(s.Chan, st)
		st = r.expr(s.Value, st)
	}
	return st
}

// keepDefers is the state before a failed Set: nothing written by it, but
// the defers registered since still registered.
func keepDefers(pre, now flow) flow {
	pre.exit = now.exit
	pre.dpos = now.dpos
	return pre
}

// store analyses an assignment target.
func (r *run) store(l ast.Expr, st flow) flow {
	switch x := ast.Unparen(l).(type) {
	case *ast.Ident:
		return st
	case *ast.IndexExpr:
		st = r.expr(x.X, st)
		st = r.expr(x.Index, st)
		if r.c.isSlot(x.X, st.stored) {
			st = r.apply(st, tfWrite, true, l.Pos())
		}
	case *ast.SelectorExpr:
		st = r.expr(x.X, st)
		if r.c.isSlot(x.X, st.stored) {
			st = r.apply(st, tfWrite, true, l.Pos())
		}
	case *ast.StarExpr:
		st = r.expr(x.X, st)
		if r.c.pointsToSlot(x.X, st.stored) || r.c.slotClass(r.c.find(r.c.elem(r.c.expr(x.X))), st.stored) {
			st = r.apply(st, tfWrite, true, l.Pos())
		}
	default:
		st = r.expr(l, st)
	}
	return st
}

// loop analyses a for or range statement to a fixpoint.
func (r *run) loop(s ast.Stmt, in flow, head func(flow) (body, exit flow), post func(flow) flow, infinite bool) flow {
	key := memoKey{stmt: s, dirty: in.dirty, exit: in.exit, stored: in.stored}
	if m, ok := r.memo[key]; ok {
		r.pendingLabel = ""
		for _, j := range m.jumps {
			r.record(j)
		}
		return m.out
	}
	fr := r.push(s, true)
	cur := in
	out := flow{}
	for i := 0; i < 8; i++ {
		body, exit := head(cur)
		if !infinite {
			out = join(out, exit)
		}
		var list []ast.Stmt
		switch s := s.(type) {
		case *ast.ForStmt:
			list = s.Body.List
		case *ast.RangeStmt:
			list = s.Body.List
		}
		end := r.block(list, body)
		end = post(join(end, fr.cont))
		next := join(in, end)
		if same(next, cur) {
			break
		}
		cur = next
	}
	out = join(out, fr.brk)
	r.pop()
	if r.memo == nil {
		r.memo = map[memoKey]memoVal{}
	}
	r.memo[key] = memoVal{out: out, jumps: fr.jumps}
	return out
}

// cases analyses the clauses of a switch, type switch or select.
func (r *run) cases(s ast.Stmt, body *ast.BlockStmt, st flow) flow {
	fr := r.push(s, false)
	out := flow{}
	hasDefault := false
	var fall flow
	for _, cl := range body.List {
		var in flow
		var list []ast.Stmt
		switch cl := cl.(type) {
		case *ast.CaseClause:
			for _, e := range cl.List {
				st = r.expr(e, st)
			}
			if cl.List == nil {
				hasDefault = true
			}
			in, list = st, cl.Body
		case *ast.CommClause:
			in = st
			if cl.Comm == nil {
				hasDefault = true
			} else {
				in = r.stmt(cl.Comm, in)
			}
			list = cl.Body
		default:
			continue
		}
		end := r.block(list, join(in, fall))
		fall = flow{}
		if n := len(list); n > 0 {
			if b, ok := list[n-1].(*ast.BranchStmt); ok && b.Tok == token.FALLTHROUGH {
				fall = r.fallState
				r.fallState = flow{}
				continue
			}
		}
		out = join(out, end)
	}
	if !hasDefault {
		out = join(out, st)
	}
	out = join(out, fr.brk)
	r.pop()
	return out
}

func (r *run) labeled(s *ast.LabeledStmt, st flow) flow {
	switch inner := s.Stmt.(type) {
	case *ast.ForStmt, *ast.RangeStmt, *ast.SwitchStmt, *ast.TypeSwitchStmt, *ast.SelectStmt:
		r.pendingLabel = s.Label.Name
		return r.stmt(inner, st)
	}
	return r.stmt(s.Stmt, st)
}

func (r *run) push(s ast.Stmt, isLoop bool) *frame {
	fr := &frame{stmt: s, isLoop: isLoop, label: r.pendingLabel}
	r.pendingLabel = ""
	r.frames = append(r.frames, fr)
	return fr
}

func (r *run) pop() { r.frames = r.frames[:len(r.frames)-1] }

// branch sends the state to the target of break, continue or fallthrough.
func (r *run) branch(b *ast.BranchStmt, st flow) {
	switch b.Tok {
	case token.FALLTHROUGH:
		r.fallState = st
		return
	case token.GOTO:
		return
	}
	cont := b.Tok == token.CONTINUE
	for i := len(r.frames) - 1; i >= 0; i-- {
		fr := r.frames[i]
		if b.Label != nil {
			if fr.label != b.Label.Name {
				continue
			}
		} else if cont && !fr.isLoop {
			continue
		}
		r.record(jump{target: fr.stmt, cont: cont, st: st})
		return
	}
}

// record delivers a jump to its frame, and notes it in every loop it
// leaves, so that a memoised loop can replay it.
func (r *run) record(j jump) {
	for i := len(r.frames) - 1; i >= 0; i-- {
		fr := r.frames[i]
		if fr.stmt == j.target {
			if j.cont {
				fr.cont = join(fr.cont, j.st)
			} else {
				fr.brk = join(fr.brk, j.st)
			}
			return
		}
		if fr.isLoop {
			fr.jumps = append(fr.jumps, j)
		}
	}
}

// expr analyses an expression in evaluation order.
func (r *run) expr(e ast.Expr, st flow) flow {
	if e == nil || !st.live {
		return st
	}
	c := r.c
	switch e := e.(type) {
	case *ast.CallExpr:
		st = r.callee(e, st)
		for _, a := range e.Args {
			st = r.expr(a, st)
		}
		t, writes, stores := r.effect(e, st.stored)
		st = r.apply(st, t, writes, e.Pos())
		st.stored |= stores
		r.stores |= stores
		if isBuiltin(e.Fun, "panic") {
			st.live = false
		}
	case *ast.BinaryExpr:
		st = r.expr(e.X, st)
		if e.Op == token.LAND || e.Op == token.LOR {
			return join(st, r.expr(e.Y, st))
		}
		st = r.expr(e.Y, st)
	case *ast.CompositeLit:
		for _, el := range e.Elts {
			st = r.expr(el, st)
		}
	case *ast.KeyValueExpr:
		st = r.expr(e.Key, st)
		st = r.expr(e.Value, st)
	case *ast.UnaryExpr:
		st = r.expr(e.X, st)
		if e.Op == token.AND {
			// Taking the address of memory inside a slot lets it change
			// without a visible store.
			switch x := ast.Unparen(e.X).(type) {
			case *ast.IndexExpr:
				if c.isSlot(x.X, st.stored) {
					st = r.apply(st, tfWrite, true, e.Pos())
				}
			case *ast.SelectorExpr:
				if c.isSlot(x.X, st.stored) {
					st = r.apply(st, tfWrite, true, e.Pos())
				}
			}
		}
	case *ast.ParenExpr:
		st = r.expr(e.X, st)
	case *ast.StarExpr:
		st = r.expr(e.X, st)
	case *ast.SelectorExpr:
		if c.u.pkgOf(e.X) == "" {
			st = r.expr(e.X, st)
		}
	case *ast.IndexExpr:
		st = r.expr(e.X, st)
		st = r.expr(e.Index, st)
	case *ast.SliceExpr:
		st = r.expr(e.X, st)
		st = r.expr(e.Low, st)
		st = r.expr(e.High, st)
		st = r.expr(e.Max, st)
	case *ast.TypeAssertExpr:
		st = r.expr(e.X, st)
	}
	return st
}

// callee analyses the function part of a call (a receiver is evaluated
// before the arguments).
func (r *run) callee(e *ast.CallExpr, st flow) flow {
	switch f := ast.Unparen(e.Fun).(type) {
	case *ast.SelectorExpr:
		if r.c.u.pkgOf(f.X) == "" {
			st = r.expr(f.X, st)
		}
	case *ast.FuncLit, *ast.Ident:
	default:
		if !isTypeExpr(f) {
			st = r.expr(f, st)
		}
	}
	return st
}

// apply applies the effect of a call at pos.
func (r *run) apply(st flow, t tf, writes bool, pos token.Pos) flow {
	if !st.live {
		return st
	}
	if writes {
		r.wrote = true
	}
	if t != tfID || writes {
		r.touched = true
	}
	d := t.apply(st.dirty)
	if d && (t.writes() || !st.dirty) {
		st.wpos = pos
	}
	st.dirty = d
	if writes && r.f.cov.recovers {
		r.exit(flow{live: true, dirty: true, exit: st.exit}, pos, true)
	}
	return st
}

// effect is the effect of a call on the dirty bit, whether it may write
// state at all, and the store bits it may set. stored are the store bits
// set before the call.
func (r *run) effect(e *ast.CallExpr, stored uint64) (tf, bool, uint64) {
	c := r.c
	u := c.u
	fun := ast.Unparen(e.Fun)
	if isTypeExpr(fun) {
		return tfID, false, 0
	}
	switch f := fun.(type) {
	case *ast.Ident:
		if f.Obj == nil {
			switch f.Name {
			case "delete", "clear", "copy":
				if len(e.Args) > 0 && c.isSlot(e.Args[0], stored) {
					return tfWrite, true, 0
				}
			case "append":
				// Appending to a reslice of a slot's slice overwrites the
				// elements after it.
				if len(e.Args) > 1 && c.isSlot(e.Args[0], stored) && c.reslice(e.Args[0]) {
					return tfWrite, true, 0
				}
			}
			return tfID, false, 0
		}
		if h := u.fns.fnOf(f); h != nil {
			return r.withArgs(r.use(h), h.cov.mayWrite, h.cov.stores, e)
		}
		if f.Obj.Kind == ast.Var {
			return r.viaValue(c.expr(f), e, stored)
		}
		return tfID, false, 0
	case *ast.FuncLit:
		if l := u.fns.byLit[f]; l != nil {
			return r.withArgs(r.use(l), l.cov.mayWrite, l.cov.stores, e)
		}
		return tfID, false, 0
	case *ast.SelectorExpr:
		if path := u.pkgOf(f.X); path != "" {
			if path != HostPackage && mutates(path, f.Sel.Name, e, c, stored) {
				return tfWrite, true, 0
			}
			return r.withArgs(tfID, false, 0, e)
		}
		switch f.Sel.Name {
		case "Set":
			return tfWrite, true, c.siteBits[e]
		case "Delete":
			return tfWrite, true, 0
		case "MarkChanged":
			if c.isSelf(f.X) {
				return tfMark, false, 0
			}
			return tfID, false, 0
		case "Get", "Has", "OID":
			return tfID, false, 0
		case "Send":
			// Another method may change what it is given: passing it memory
			// of a slot is a write.
			for _, a := range e.Args[min(1, len(e.Args)):] {
				if c.pointsToSlot(a, stored) {
					return tfWrite, true, c.siteBits[e]
				}
			}
			return r.withArgs(tfID, false, c.siteBits[e], e)
		}
		if c.funcFlds {
			t, w, st := r.viaValue(c.elem(c.expr(f.X)), e, stored)
			return r.withArgs(t, w, st, e)
		}
		// A method of a value wrapping slot memory (sort.StringSlice,
		// bytes.NewBuffer) may change it.
		if c.pointsToSlot(f.X, stored) && !readOnlyReceiver(f.Sel.Name) {
			return tfWrite, true, 0
		}
		if !readOnlyMethod(f.Sel.Name) {
			for _, a := range e.Args {
				if c.pointsToSlot(a, stored) {
					return tfWrite, true, 0
				}
			}
		}
		return r.withArgs(tfID, false, 0, e)
	}
	return r.viaValue(c.expr(fun), e, stored)
}

// use returns the summary of f and remembers that the function being
// analysed depends on it.
func (r *run) use(f *fnInfo) tf {
	if f.cov.pseudo == pseudoNone {
		f.cov.deps = addFn(f.cov.deps, r.f)
	}
	return f.cov.sum
}

// viaValue is the effect of calling a function value: any of the functions
// that may flow to it.
func (r *run) viaValue(callee *node, e *ast.CallExpr, stored uint64) (tf, bool, uint64) {
	c := r.c
	fns := c.find(callee).fns
	slotArg := false
	for _, a := range e.Args {
		if c.pointsToSlot(a, stored) {
			slotArg = true
		}
	}
	bits := c.siteBits[e]
	if len(fns) == 0 {
		if slotArg {
			return tfWrite, true, bits
		}
		return tfID, false, bits
	}
	var t tf
	first := true
	writes := false
	for _, f := range fns {
		s := r.use(f)
		switch f.cov.pseudo {
		case pseudoHost, pseudoSend:
			if slotArg {
				s = tfWrite
			}
		}
		if s.writes() || f.cov.mayWrite {
			writes = true
		}
		bits |= f.cov.stores
		if first {
			t, first = s, false
		} else {
			t = t.join(s)
		}
	}
	return t, writes, bits
}

// withArgs adds the effect of function values passed as arguments: the
// function called may call them, any number of times, at any point.
func (r *run) withArgs(t tf, writes bool, stores uint64, e *ast.CallExpr) (tf, bool, uint64) {
	c := r.c
	for _, a := range e.Args {
		n := c.exprs[a]
		if n == nil {
			continue
		}
		for _, f := range c.find(n).fns {
			s := r.use(f)
			if f.cov.mayWrite || s.writes() {
				writes = true
			}
			stores |= f.cov.stores
			t = t.join(t.then(s)).join(s.then(t))
		}
	}
	return t, writes, stores
}

// mutates reports whether a standard function changes memory reachable
// from a slot through its arguments.
func mutates(path, name string, e *ast.CallExpr, c *covenant, stored uint64) bool {
	arg := func(i int) bool { return i < len(e.Args) && c.pointsToSlot(e.Args[i], stored) }
	switch path + "." + name {
	case "sort.Sort", "sort.Stable", "sort.Slice", "sort.SliceStable", "sort.Strings", "sort.Ints", "sort.Float64s",
		"unicode/utf8.EncodeRune", "encoding/hex.Encode", "encoding/hex.Decode", "math/rand.Read",
		"container/heap.Init", "container/heap.Push", "container/heap.Pop", "container/heap.Remove", "container/heap.Fix":
		return arg(0)
	case "encoding/json.Unmarshal":
		return arg(1)
	case "fmt.Sscan", "fmt.Sscanf", "fmt.Sscanln", "fmt.Fscan", "fmt.Fscanf", "fmt.Fscanln":
		for i := 1; i < len(e.Args); i++ {
			if arg(i) {
				return true
			}
		}
	}
	return false
}

// readOnlyReceiver reports whether a method of a standard type with this
// name leaves its receiver alone.
func readOnlyReceiver(name string) bool {
	switch name {
	case "String", "Len", "Less", "Cap", "Bytes", "Error", "Format", "Equal", "Before", "After", "Compare", "Sub",
		"Unix", "UnixMilli", "UnixNano", "Year", "Month", "Day", "Hour", "Minute", "Second", "Nanosecond", "Weekday",
		"YearDay", "IsZero", "Add", "AddDate", "In", "UTC", "Local", "Truncate", "Round", "Seconds", "Milliseconds",
		"Hours", "Minutes", "Search":
		return true
	}
	return false
}

// readOnlyMethod reports whether a method of a standard type with this
// name only reads its arguments.
func readOnlyMethod(name string) bool {
	switch name {
	case "WriteString", "Write", "WriteByte", "WriteRune", "Encode", "EncodeToString",
		"MatchString", "Match", "FindString", "FindStringIndex", "FindStringSubmatch", "FindStringSubmatchIndex",
		"FindAllString", "FindAllStringIndex", "FindAllStringSubmatch", "FindAllStringSubmatchIndex",
		"Find", "FindIndex", "FindSubmatch", "FindAll", "FindAllIndex", "FindAllSubmatch",
		"ReplaceAllString", "ReplaceAllLiteralString", "ReplaceAllStringFunc", "ReplaceAll", "ReplaceAllLiteral", "ReplaceAllFunc",
		"Split", "Replace", "Format", "Equal", "Before", "After", "Compare", "Sub", "Add", "AddDate", "Contains":
		return true
	}
	return false
}
