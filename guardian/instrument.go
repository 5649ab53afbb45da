package guardian

import (
	"go/ast"
	"strconv"
	"strings"
)

// instrumentAnalysis finds, for every function, whether it loops,
// allocates, may recurse and so needs the meter.
func (u *unit) instrumentAnalysis() {
	idx := u.fns
	hasFuncFields := u.hasFuncFields()
	for _, f := range idx.all {
		nd := &f.nodes
		f.loops = len(nd.fors)+len(nd.ranges) > 0
		for _, lit := range nd.lits {
			f.callees = append(f.callees, idx.byLit[lit])
		}
		for _, id := range nd.funcIDs {
			if h := idx.fnOf(id); h != nil {
				f.callees = append(f.callees, h)
			}
		}
		for _, c := range nd.calls {
			u.classifyCall(f, c, hasFuncFields)
		}
	}
	u.markCycles()
	// A helper used as a value may be called by a standard function any
	// number of times (sort.Slice, strings.FieldsFunc): like a literal, it
	// counts its calls.
	called := map[*ast.Ident]bool{}
	for _, f := range idx.all {
		for _, c := range f.nodes.calls {
			if id, ok := ast.Unparen(c.Fun).(*ast.Ident); ok {
				called[id] = true
			}
		}
	}
	for _, f := range idx.all {
		for _, id := range f.nodes.funcIDs {
			if h := idx.fnOf(id); h != nil && !called[id] && !isDeclName(h, id) {
				h.asValue = true
			}
		}
	}
	for _, f := range idx.all {
		f.needsEnter = f.entry || f.unknownCall || f.cyclic
		f.needsCount = !f.needsEnter && (f.lit != nil || f.asValue)
		f.needsMeter = f.needsEnter || f.needsCount || f.loops || f.allocs
	}
	for changed := true; changed; {
		changed = false
		for _, f := range idx.all {
			if f.needsMeter {
				continue
			}
			for _, c := range f.callees {
				if c.needsMeter && !c.entry {
					f.needsMeter, changed = true, true
					break
				}
			}
		}
	}
}

// classifyCall notes calls that may reach interpreted code the guardian
// cannot follow, and allocations.
func (u *unit) classifyCall(f *fnInfo, c *ast.CallExpr, hasFuncFields bool) {
	switch fun := ast.Unparen(c.Fun).(type) {
	case *ast.Ident:
		o := u.obj(fun)
		switch {
		case o == nil:
			switch fun.Name {
			case "make":
				for _, a := range c.Args[min(1, len(c.Args)):] {
					if !u.smallConst(a) {
						f.allocs = true
					}
				}
			case "append":
				if c.Ellipsis.IsValid() {
					f.allocs = true
				}
			}
		case o.kind == objFun, o.kind == objTyp:
			// a helper (an edge, recorded by its identifier) or a conversion
		default:
			f.unknownCall = true
		}
	case *ast.FuncLit:
		// an edge, recorded by the literal
	case *ast.SelectorExpr:
		path := u.pkgOf(fun.X)
		name := fun.Sel.Name
		if path == "" && hasFuncFields {
			f.unknownCall = true
		}
		if (path == "strings" || path == "bytes") && name == "Repeat" && len(c.Args) == 2 && !u.smallConst(c.Args[1]) {
			f.allocs = true
		}
		if path == "" && name == "Grow" && len(c.Args) == 1 && !u.smallConst(c.Args[0]) {
			f.allocs = true
		}
		if path != HostPackage && takesCallback(name) {
			for _, a := range c.Args {
				if u.mayBeFuncValue(a) {
					f.unknownCall = true
				}
			}
		}
	case *ast.ArrayType, *ast.MapType, *ast.InterfaceType, *ast.StructType, *ast.FuncType, *ast.StarExpr:
		// a conversion
	default:
		f.unknownCall = true
	}
}

// takesCallback reports whether a standard function or method of this name
// calls a function it is given.
func takesCallback(name string) bool {
	switch name {
	case "Map", "Slice", "SliceStable", "Search", "Find", "Shuffle", "Sort", "Stable":
		return true
	}
	return strings.HasSuffix(name, "Func")
}

// mayBeFuncValue reports whether an argument could be a function value the
// guardian does not see being defined (a literal or a helper it sees).
func (u *unit) mayBeFuncValue(a ast.Expr) bool {
	switch a := ast.Unparen(a).(type) {
	case *ast.FuncLit, *ast.BasicLit, *ast.CompositeLit, *ast.BinaryExpr:
		return false
	case *ast.SelectorExpr:
		return u.pkgOf(a.X) == ""
	case *ast.Ident:
		o := u.obj(a)
		if o == nil {
			return false
		}
		switch o.kind {
		case objFun, objCon, objTyp:
			return false
		}
		t, _ := u.typeOf(a, 0)
		if t == nil {
			return true
		}
		_, isFunc := t.(*ast.FuncType)
		return isFunc
	}
	return true
}

// hasFuncFields reports whether the file declares a struct type with a
// field of function type, directly or through an embedded or nested
// struct (so that x.f() may call interpreted code).
func (u *unit) hasFuncFields() bool {
	if u.funcFlds != 0 {
		return u.funcFlds == 2
	}
	found := false
	for _, st := range u.structs {
		if u.structHasFunc(st, 0) {
			found = true
			break
		}
	}
	u.funcFlds = 1
	if found {
		u.funcFlds = 2
	}
	return found
}

func (u *unit) structHasFunc(st *ast.StructType, depth int) bool {
	if st.Fields == nil || depth > 8 {
		return false
	}
	for _, fld := range st.Fields.List {
		if u.holdsFunc(fld.Type, depth+1) {
			return true
		}
	}
	return false
}

// holdsFunc reports whether a field of type t can be called, or reaches
// such a field by selection.
func (u *unit) holdsFunc(t ast.Expr, depth int) bool {
	if depth > 8 {
		return false
	}
	switch t := t.(type) {
	case *ast.FuncType:
		return true
	case *ast.ParenExpr:
		return u.holdsFunc(t.X, depth+1)
	case *ast.StarExpr:
		return u.holdsFunc(t.X, depth+1)
	case *ast.StructType:
		return u.structHasFunc(t, depth+1)
	case *ast.Ident:
		o := u.obj(t)
		if o == nil || o.kind != objTyp {
			return false
		}
		if ts, ok := o.decl.(*ast.TypeSpec); ok {
			return u.holdsFunc(ts.Type, depth+1)
		}
	}
	return false
}

// smallConst reports whether e is a constant no larger than SmallAlloc.
func (u *unit) smallConst(e ast.Expr) bool {
	v, ok := u.constInt(e, 0)
	return ok && v >= 0 && v <= int64(u.opts.SmallAlloc)
}

// markCycles marks the functions that lie on a cycle of the call graph
// (Tarjan's strongly connected components).
func (u *unit) markCycles() {
	counter := 0
	var stack []*fnInfo
	var strong func(f *fnInfo)
	strong = func(f *fnInfo) {
		counter++
		f.index, f.low = counter, counter
		stack = append(stack, f)
		f.onStack = true
		for _, c := range f.callees {
			if c.index == 0 {
				strong(c)
				f.low = min(f.low, c.low)
			} else if c.onStack {
				f.low = min(f.low, c.index)
			}
			if c == f {
				f.cyclic = true
			}
		}
		if f.low == f.index {
			var comp []*fnInfo
			for {
				top := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				top.onStack = false
				comp = append(comp, top)
				if top == f {
					break
				}
			}
			if len(comp) > 1 {
				for _, c := range comp {
					c.cyclic = true
				}
			}
		}
	}
	for _, f := range u.fns.all {
		if f.index == 0 {
			strong(f)
		}
	}
}

// instrument records the edits that add the budget checks.
func (u *unit) instrument() {
	host := u.host
	meterType := "*" + host + "." + MeterType
	enter := MeterVar + "." + EnterFunc + "()"
	leave := "defer " + MeterVar + "." + LeaveMethod + "()"
	for _, f := range u.fns.all {
		switch {
		case f.entry:
			u.insertStmts(f.body, prioMeter, MeterVar+" := "+host+"."+EnterFunc+"("+u.selfName+")", leave)
		case f.decl != nil && f.needsMeter:
			params := f.typ.Params
			text := MeterVar + " " + meterType
			if len(params.List) > 0 {
				text += ", "
			}
			u.insert(params.Opening+1, 0, text)
			if f.needsEnter {
				u.insertStmts(f.body, prioMeter, enter, leave)
			}
		case f.lit != nil && f.needsEnter:
			u.insertStmts(f.body, prioMeter, enter, leave)
		}
		if f.needsCount {
			u.insertStmts(f.body, prioMeter, u.fuelCheck())
		}
		u.instrumentBody(f)
	}
}

// instrumentBody adds the fuel checks, the meter arguments and the
// allocation checks inside one function.
func (u *unit) instrumentBody(f *fnInfo) {
	var stack []ast.Node
	calls := map[*ast.Ident]bool{} // helper identifiers in call position
	inspectOwn(f, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		if _, ok := n.(*ast.FuncLit); ok {
			return false
		}
		depth := len(stack)
		stack = append(stack, n)
		switch n := n.(type) {
		case *ast.ForStmt:
			u.insertStmts(n.Body, prioMeter, u.fuelCheck())
		case *ast.RangeStmt:
			u.insertStmts(n.Body, prioMeter, u.fuelCheck())
		case *ast.CallExpr:
			if id, ok := ast.Unparen(n.Fun).(*ast.Ident); ok {
				if h := u.fns.fnOf(id); h != nil && !h.entry && h.needsMeter {
					calls[id] = true
					text := MeterVar
					if len(n.Args) > 0 {
						text += ", "
					}
					u.insert(n.Lparen+1, 0, text)
				}
			}
			u.instrumentAlloc(n, depth, stack)
		case *ast.Ident:
			if h := u.fns.fnOf(n); h != nil && !h.entry && h.needsMeter && !calls[n] && !isDeclName(h, n) {
				u.replace(n, u.wrapper(h, n))
			}
		}
		return true
	})
}

func isDeclName(h *fnInfo, id *ast.Ident) bool {
	return h.decl != nil && h.decl.Name == id
}

// instrumentAlloc wraps allocation sizes in Alloc.
func (u *unit) instrumentAlloc(c *ast.CallExpr, depth int, stack []ast.Node) {
	wrap := func(e ast.Expr) {
		if u.smallConst(e) {
			return
		}
		open, close := MeterVar+"."+AllocMethod+"(", ")"
		if t, _ := u.typeOf(e, 0); u.typeName(t) != "int" {
			open, close = open+"int(", "))"
		}
		u.insert(e.Pos(), depth+1, open)
		u.insert(e.End(), -depth-1, close)
	}
	switch fun := ast.Unparen(c.Fun).(type) {
	case *ast.Ident:
		if u.obj(fun) != nil {
			return
		}
		switch fun.Name {
		case "make":
			for _, a := range c.Args[min(1, len(c.Args)):] {
				wrap(a)
			}
		case "append":
			if !c.Ellipsis.IsValid() || len(c.Args) != 2 || !u.pure(c.Args[0]) || !u.pure(c.Args[1]) {
				return
			}
			if u.isDeclared("len") {
				u.rejectOnce("shadow:len", RuleIdentShadow, c.Pos(), "do not declare anything named len: the budget check before append(x, y...) needs the builtin")
				return
			}
			if st := stmtInBlock(stack); st != nil {
				u.insert(st.Pos(), 0, MeterVar+"."+AllocMethod+"(len("+u.text(c.Args[0])+") + len("+u.text(c.Args[1])+"))\n")
			}
		}
	case *ast.SelectorExpr:
		path := u.pkgOf(fun.X)
		switch {
		case (path == "strings" || path == "bytes") && fun.Sel.Name == "Repeat" && len(c.Args) == 2:
			wrap(c.Args[1])
		case path == "" && fun.Sel.Name == "Grow" && len(c.Args) == 1:
			wrap(c.Args[0])
		}
	}
}

// stmtInBlock returns the innermost statement of the stack that sits
// directly in a statement list.
func stmtInBlock(stack []ast.Node) ast.Stmt {
	for i := len(stack) - 1; i > 0; i-- {
		st, ok := stack[i].(ast.Stmt)
		if !ok {
			continue
		}
		switch st.(type) {
		case *ast.BlockStmt, *ast.CaseClause, *ast.CommClause:
			continue // not a statement of a list
		}
		switch stack[i-1].(type) {
		case *ast.BlockStmt, *ast.CaseClause, *ast.CommClause:
			return st
		}
	}
	return nil
}

// wrapper is the function literal that stands for helper h used as a
// value: it passes the meter on.
func (u *unit) wrapper(h *fnInfo, at *ast.Ident) string {
	var params, args []string
	i := 0
	for _, fld := range h.typ.Params.List {
		n := max(1, len(fld.Names))
		for k := 0; k < n; k++ {
			name := WrapperParamPrefix + strconv.Itoa(i)
			i++
			typ := u.text(fld.Type)
			params = append(params, name+" "+typ)
			if _, ok := fld.Type.(*ast.Ellipsis); ok {
				name += "..."
			}
			args = append(args, name)
		}
	}
	call := h.name + "(" + strings.Join(append([]string{MeterVar}, args...), ", ") + ")"
	results := ""
	if h.typ.Results != nil && len(h.typ.Results.List) > 0 {
		results = " " + u.text(h.typ.Results)
		call = "return " + call
	}
	u.checkWrapperTypes(h, at)
	return "func(" + strings.Join(params, ", ") + ")" + results + " { " + call + " }"
}

// checkWrapperTypes rejects a wrapper whose parameter types could be
// shadowed where it is placed.
func (u *unit) checkWrapperTypes(h *fnInfo, at *ast.Ident) {
	local := u.localNames()
	var types []ast.Expr
	for _, fl := range []*ast.FieldList{h.typ.Params, h.typ.Results} {
		if fl != nil {
			for _, fld := range fl.List {
				types = append(types, fld.Type)
			}
		}
	}
	for _, t := range types {
		ast.Inspect(t, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				return false
			case *ast.Ident:
				if local[n.Name] {
					u.rejectOnce("funcvalue:"+h.name+":"+n.Name, RuleFuncValue, at.Pos(), "helper %s is used as a value, and the guardian must wrap it to pass the budget meter, but the type name %s in its signature is also declared inside a function: rename that local %s, or call %s from a function literal", h.name, n.Name, n.Name, h.name)
					return false
				}
			}
			return true
		})
	}
}

// localNames lists the names declared inside function bodies, and the
// parameters and results of the functions.
func (u *unit) localNames() map[string]bool {
	local := map[string]bool{}
	var bodies []*ast.BlockStmt
	for _, d := range u.file.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		bodies = append(bodies, fd.Body)
		for _, fl := range []*ast.FieldList{fd.Type.Params, fd.Type.Results} {
			if fl == nil {
				continue
			}
			for _, fld := range fl.List {
				for _, id := range fld.Names {
					local[id.Name] = true
				}
			}
		}
	}
	// Every object the file declares is known: keep those whose declaring
	// identifier stands in a body.
	for _, o := range u.res.objs {
		p := o.pos()
		if !p.IsValid() {
			continue
		}
		for _, b := range bodies {
			if b.Pos() <= p && p < b.End() {
				local[o.name] = true
				break
			}
		}
	}
	return local
}
