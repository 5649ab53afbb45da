package guardian

import (
	"go/ast"
	"go/token"
)

// The path analysis of the covenant: each function is followed statement
// by statement with one bit, "a write happened that no mark has followed
// yet", plus the composed effect of the deferred calls registered so far;
// loops run to a fixpoint, calls apply the summary of the function called.

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

// summaries computes the effect of every function to a fixpoint, then
// checks the entry.
func (c *covenant) summaries() {
	u := c.u
	for _, f := range u.fns.all {
		f.cov.sum = tfMark // bottom: no path returns dirty
		f.cov.hasRecov = c.ownRecover(f)
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
func (c *covenant) ownRecover(f *fnInfo) bool {
	for _, call := range f.nodes.calls {
		if c.u.isBuiltin(call.Fun, "recover") {
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
			if c.u.obj(fun) == nil {
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
	obj *object
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
	u := r.c.u
	if (st.dirty && u.typeErrOn(st.wpos)) || (!st.dirty && u.typeErrOn(st.dpos)) {
		// The write is on a line that is not valid Go (a call of a
		// variable that is no function, say): the type error is the
		// finding, and the write may be no write at all.
		return
	}
	r.found++
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
func (c *covenant) errAssign(s ast.Stmt) *object {
	as, ok := s.(*ast.AssignStmt)
	if !ok || len(as.Lhs) != 1 || len(as.Rhs) != 1 || (as.Tok != token.DEFINE && as.Tok != token.ASSIGN) {
		return nil
	}
	id, ok := as.Lhs[0].(*ast.Ident)
	if !ok || c.u.obj(id) == nil {
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
	return c.u.obj(id)
}

// errCond recognises `err != nil` (1) and `err == nil` (-1).
func (c *covenant) errCond(e ast.Expr, obj *object) int {
	b, ok := e.(*ast.BinaryExpr)
	if !ok {
		return 0
	}
	id, ok := b.X.(*ast.Ident)
	if !ok || c.u.obj(id) != obj || !c.u.isBuiltin(b.Y, "nil") {
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
		if call, ok := s.X.(*ast.CallExpr); ok && c.u.isBuiltin(call.Fun, "panic") {
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
		var obj *object
		if s.Init != nil {
			obj = c.errAssign(s.Init)
			st = r.stmt(s.Init, st)
		} else if hint != nil {
			obj, pre = hint.obj, hint.pre
		}
		st = r.expr(s.Cond, st)
		thenIn, elseIn := st, st
		switch c.errCond(s.Cond, obj) {
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
		if c.u.isBuiltin(e.Fun, "panic") {
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
		if !r.c.u.isTypeExpr(f) {
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
	if u.isTypeExpr(fun) {
		return tfID, false, 0
	}
	switch f := fun.(type) {
	case *ast.Ident:
		o := u.obj(f)
		if o == nil {
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
		if o.kind == objVar {
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
			if path != HostPackage && c.stdWrites(path, f.Sel.Name, e, stored) {
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
