package guardian

import (
	"go/ast"
	"go/token"
	"strings"
)

// compat rewrites what the interpreter (Yaegi v0.16.1) would run
// differently from Go, when the meaning is certain, and rejects it
// otherwise: range over an integer, range over a string (quadratic in the
// interpreter), min, max, clear, and closures that capture a loop variable
// (the interpreter shares one variable across iterations, as Go did before
// 1.22).
func (u *unit) compat() {
	for _, f := range u.fns.all {
		nd := &f.nodes
		u.compatBoxing(f)
		for _, rs := range nd.ranges {
			u.compatRange(rs)
		}
		for _, fs := range nd.fors {
			u.compatFor(fs)
		}
		handled := map[*ast.CallExpr]bool{}
		for _, st := range nd.callStmts {
			if c := st.X.(*ast.CallExpr); u.isBuiltin(c.Fun, "clear") {
				handled[c] = true
				u.compatClear(st, c)
			}
		}
		for _, c := range nd.calls {
			switch {
			case u.isBuiltin(c.Fun, "min") || u.isBuiltin(c.Fun, "max"):
				u.compatMinMax(c)
			case u.isBuiltin(c.Fun, "clear") && !handled[c]:
				u.reject(RuleClear, c.Pos(), "clear is not available in the interpreter (it follows Go 1.22 without clear): call it as a statement on a map or slice of known type, or delete the keys in a loop: `for k := range m { delete(m, k) }`")
			}
		}
	}
}

// compatBoxing parenthesises unary and comparison expressions that a
// return or an assignment stores into a destination that may be an
// interface. Yaegi v0.16.1 loses or corrupts such values (`return -n, nil`
// from a function returning any yields nil; `return n == 3, nil` panics);
// the parenthesised form, which means the same in Go, works.
func (u *unit) compatBoxing(f *fnInfo) {
	results := flatFields(f.typ.Results)
	for _, n := range f.nodes.returns {
		if len(n.Results) == len(results) {
			for i, e := range n.Results {
				u.box(e, results[i])
			}
		}
	}
	for _, n := range f.nodes.assigns {
		if n.Tok != token.ASSIGN || len(n.Lhs) != len(n.Rhs) {
			continue
		}
		for i, e := range n.Rhs {
			if !isBlank(n.Lhs[i]) {
				t, _ := u.typeOf(n.Lhs[i], 0)
				u.box(e, t)
			}
		}
	}
}

// box parenthesises e if it is a unary or comparison expression and dst
// may be an interface type.
func (u *unit) box(e ast.Expr, dst ast.Expr) {
	switch e := e.(type) {
	case *ast.UnaryExpr:
		if e.Op != token.SUB && e.Op != token.XOR && e.Op != token.NOT {
			return
		}
		if _, lit := e.X.(*ast.BasicLit); lit {
			return // constants fold before they reach an interface
		}
	case *ast.BinaryExpr:
		switch e.Op {
		case token.EQL, token.NEQ, token.LSS, token.LEQ, token.GTR, token.GEQ:
		default:
			return
		}
	default:
		return
	}
	if u.concreteType(dst) {
		return
	}
	u.insert(e.Pos(), 0, "(")
	u.insert(e.End(), 0, ")")
	u.note(RuleBoxing, e.Pos(), "parenthesised %s: the interpreter loses a unary or comparison result stored straight into an interface value", u.text(e))
}

// concreteType reports whether t is certainly not an interface type.
func (u *unit) concreteType(t ast.Expr) bool {
	switch t := t.(type) {
	case *ast.ArrayType, *ast.MapType, *ast.StarExpr, *ast.FuncType, *ast.StructType, *ast.ChanType:
		return true
	case *ast.Ident:
		if n := u.typeName(t); n != "" {
			return n != "any" && n != "error"
		}
		if o := u.obj(t); o != nil && o.kind == objTyp {
			if ts, ok := o.decl.(*ast.TypeSpec); ok {
				_, isIface := ts.Type.(*ast.InterfaceType)
				return !isIface && ts.Assign == 0
			}
		}
	}
	return false
}

// loopShape collects what a rewrite of a loop puts at the start of its body.
type loopShape struct {
	prologue []string // statements after the fuel check
	declares []string // names the prologue declares
	copies   []string // per-iteration copies of header variables
}

// finish inserts the prologue and copies, wrapping the body in a block if
// its own declarations would clash with them.
func (u *unit) finishLoop(body *ast.BlockStmt, sh loopShape) {
	if len(sh.prologue) > 0 {
		u.insertStmts(body, prioPrologue, sh.prologue...)
	}
	var copied []string
	if len(sh.copies) > 0 {
		u.insertStmts(body, prioCopy, strings.Join(sh.copies, ", ")+" := "+strings.Join(sh.copies, ", "))
		copied = sh.copies
	}
	if declaresTop(body, append(append([]string(nil), sh.declares...), copied...)) {
		u.insertStmts(body, prioWrap, "{")
		u.insertAt(u.offset(body.Rbrace), 0, "}\n")
	}
}

// declaresTop reports whether the block itself (not nested blocks)
// declares one of names.
func declaresTop(b *ast.BlockStmt, names []string) bool {
	if len(names) == 0 {
		return false
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	for _, s := range b.List {
		switch s := s.(type) {
		case *ast.AssignStmt:
			if s.Tok == token.DEFINE {
				for _, l := range s.Lhs {
					if id, ok := l.(*ast.Ident); ok && want[id.Name] {
						return true
					}
				}
			}
		case *ast.DeclStmt:
			if gd, ok := s.Decl.(*ast.GenDecl); ok {
				for _, spec := range gd.Specs {
					switch spec := spec.(type) {
					case *ast.ValueSpec:
						for _, id := range spec.Names {
							if want[id.Name] {
								return true
							}
						}
					case *ast.TypeSpec:
						if want[spec.Name.Name] {
							return true
						}
					}
				}
			}
		}
	}
	return false
}

// compatRange handles range statements.
func (u *unit) compatRange(rs *ast.RangeStmt) {
	t, untyped := u.typeOf(rs.X, 0)
	name := u.typeName(t)
	switch {
	case name == "string":
		if u.rewriteRangeString(rs) {
			return
		}
	case isIntegerName(name) || (untyped && (name == "int" || name == "rune")):
		u.rewriteRangeInt(rs, name, untyped)
		return
	}
	// An ordinary range loop: keep Go 1.22 per-iteration variables.
	if rs.Tok != token.DEFINE {
		return
	}
	var sh loopShape
	for _, e := range []ast.Expr{rs.Key, rs.Value} {
		if id, ok := e.(*ast.Ident); ok && id.Name != "_" && u.captured(id, rs.Body) {
			sh.copies = append(sh.copies, id.Name)
		}
	}
	if len(sh.copies) > 0 {
		u.note(RuleLoopVar, rs.Pos(), "copied %s at the start of each iteration: a closure captures it, and the interpreter shares loop variables across iterations (as Go did before 1.22)", strings.Join(sh.copies, ", "))
		u.finishLoop(rs.Body, sh)
	}
}

// rewriteRangeInt turns `for i := range n` into a three-clause loop.
func (u *unit) rewriteRangeInt(rs *ast.RangeStmt, name string, untyped bool) {
	if rs.Value != nil {
		u.reject(RuleRangeInt, rs.Pos(), "range over an integer yields one value: write `for i := 0; i < n; i++`")
		return
	}
	if _, ok := rs.Key.(*ast.Ident); rs.Key != nil && !ok {
		u.reject(RuleRangeInt, rs.Pos(), "range over an integer is not supported by the interpreter: write `for i := 0; i < n; i++`")
		return
	}
	zero := "0"
	if !untyped && name != "int" {
		zero = name + "(0)"
	}
	key, _ := rs.Key.(*ast.Ident)
	if key != nil && key.Name == "_" {
		key = nil
	}
	var sh loopShape
	counter := ""
	switch {
	case rs.Tok == token.DEFINE && key != nil && !u.assignedIn(key, rs.Body):
		counter = key.Name
		if u.captured(key, rs.Body) {
			sh.copies = append(sh.copies, key.Name)
		}
	default:
		counter = u.fresh("i")
		switch {
		case rs.Tok == token.DEFINE && key != nil:
			sh.prologue = append(sh.prologue, key.Name+" := "+counter)
			sh.declares = append(sh.declares, key.Name)
		case rs.Tok == token.ASSIGN && rs.Key != nil:
			sh.prologue = append(sh.prologue, u.text(rs.Key)+" = "+counter)
		}
	}
	start := rs.Range
	if rs.Key != nil {
		start = rs.Key.Pos()
	}
	if u.stable(rs.X, rs.Body) {
		u.replaceSpan(start, rs.X.Pos(), counter+" := "+zero+"; "+counter+" < ")
		u.insert(rs.X.End(), 0, "; "+counter+"++")
	} else {
		n := u.fresh("n")
		u.replaceSpan(start, rs.X.Pos(), counter+", "+n+" := "+zero+", ")
		u.insert(rs.X.End(), 0, "; "+counter+" < "+n+"; "+counter+"++")
	}
	u.note(RuleRangeInt, rs.Pos(), "rewrote range over an integer to a three-clause loop (the interpreter does not support range over int)")
	u.finishLoop(rs.Body, sh)
}

// rewriteRangeString turns `for i, c := range s` into a loop over
// utf8.DecodeRuneInString, which the interpreter runs in linear time. It
// reports false when the utf8 package cannot be named.
func (u *unit) rewriteRangeString(rs *ast.RangeStmt) bool {
	utf8 := u.pathNames["unicode/utf8"]
	if utf8 == "" {
		if u.spelled("utf8") || u.isDeclared("utf8") || !u.allowed("unicode/utf8") {
			return false
		}
		utf8 = "utf8"
		u.pkgNames[utf8] = "unicode/utf8"
		u.pathNames["unicode/utf8"] = utf8
		u.addImports = append(u.addImports, "unicode/utf8")
	}
	if u.isDeclared("rune") || u.isDeclared("len") {
		return false
	}
	for _, e := range []ast.Expr{rs.Key, rs.Value} {
		if _, ok := e.(*ast.Ident); e != nil && !ok {
			return false
		}
	}
	key, _ := rs.Key.(*ast.Ident)
	if key != nil && key.Name == "_" {
		key = nil
	}
	val, _ := rs.Value.(*ast.Ident)
	if val != nil && val.Name == "_" {
		val = nil
	}
	var sh loopShape
	define := rs.Tok == token.DEFINE
	idx := ""
	if define && key != nil && !u.assignedIn(key, rs.Body) {
		idx = key.Name
		if u.captured(key, rs.Body) {
			sh.copies = append(sh.copies, key.Name)
		}
	} else {
		idx = u.fresh("i")
	}
	r := "_"
	switch {
	case define && val != nil:
		r = val.Name
		if u.captured(val, rs.Body) {
			sh.copies = append(sh.copies, val.Name)
		}
	case !define && rs.Value != nil:
		r = u.fresh("r")
	}
	size := u.fresh("size")
	vars, inits := idx, "0"
	if r != "_" {
		vars += ", " + r
		inits += ", rune(0)"
	}
	vars += ", " + size
	inits += ", 0"
	start := rs.Range
	if rs.Key != nil {
		start = rs.Key.Pos()
	}
	str := ""
	if u.stable(rs.X, rs.Body) {
		str = u.text(rs.X)
		u.replaceSpan(start, rs.X.Pos(), vars+" := "+inits+"; "+idx+" < len(")
		u.insert(rs.X.End(), 0, "); "+idx+" += "+size)
	} else {
		str = u.fresh("s")
		u.replaceSpan(start, rs.X.Pos(), vars+", "+str+" := "+inits+", ")
		u.insert(rs.X.End(), 0, "; "+idx+" < len("+str+"); "+idx+" += "+size)
	}
	sh.prologue = append(sh.prologue, r+", "+size+" = "+utf8+".DecodeRuneInString("+str+"["+idx+":])")
	switch {
	case define && key != nil && key.Name != idx:
		sh.prologue = append(sh.prologue, key.Name+" := "+idx)
		sh.declares = append(sh.declares, key.Name)
	case !define && rs.Key != nil && !isBlank(rs.Key):
		sh.prologue = append(sh.prologue, u.text(rs.Key)+" = "+idx)
	}
	if !define && rs.Value != nil && !isBlank(rs.Value) {
		sh.prologue = append(sh.prologue, u.text(rs.Value)+" = "+r)
	}
	u.note(RuleRangeString, rs.Pos(), "rewrote range over a string to a loop over utf8.DecodeRuneInString (the interpreter's range over a string is quadratic)")
	u.finishLoop(rs.Body, sh)
	return true
}

func isBlank(e ast.Expr) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == "_"
}

// compatFor keeps Go 1.22 per-iteration variables in three-clause loops.
func (u *unit) compatFor(fs *ast.ForStmt) {
	as, ok := fs.Init.(*ast.AssignStmt)
	if !ok || as.Tok != token.DEFINE {
		return
	}
	var sh loopShape
	for _, l := range as.Lhs {
		id, ok := l.(*ast.Ident)
		if !ok || id.Name == "_" {
			continue
		}
		inHeader := (fs.Cond != nil && u.captured(id, fs.Cond)) || (fs.Post != nil && u.captured(id, fs.Post))
		if !inHeader && !u.captured(id, fs.Body) {
			continue
		}
		if inHeader || u.assignedIn(id, fs.Body) {
			u.reject(RuleLoopVar, id.Pos(), "a closure captures loop variable %s, which the loop also changes; the interpreter shares loop variables across iterations (as Go did before 1.22): copy it first (`v := %s`) and let the closure use the copy", id.Name, id.Name)
			return
		}
		sh.copies = append(sh.copies, id.Name)
	}
	if len(sh.copies) > 0 {
		u.note(RuleLoopVar, fs.Pos(), "copied %s at the start of each iteration: a closure captures it, and the interpreter shares loop variables across iterations (as Go did before 1.22)", strings.Join(sh.copies, ", "))
		u.finishLoop(fs.Body, sh)
	}
}

// compatMinMax rewrites min and max.
func (u *unit) compatMinMax(c *ast.CallExpr) {
	fn := c.Fun.(*ast.Ident).Name
	if len(c.Args) == 0 || c.Ellipsis.IsValid() {
		return
	}
	if len(c.Args) == 1 {
		u.replace(c.Fun, "")
		u.note(RuleMinMax, c.Pos(), "rewrote %s of one value to the value", fn)
		return
	}
	t := u.commonType(c.Args, 0)
	name := u.typeName(t)
	var callee string
	switch {
	case name == "float64" && u.mathName() != "":
		callee = u.mathName() + "." + strings.ToUpper(fn[:1]) + fn[1:]
	case isIntegerName(name) || name == "string":
		callee = u.minMaxHelper(fn, name)
	default:
		u.reject(RuleMinMax, c.Pos(), "%s is not available in the interpreter (it follows Go 1.20 here) and the type of its arguments is not certain: write the comparison out (`m := a; if b %s m { m = b }`), or use math.Min and math.Max for float64", fn, map[string]string{"min": "<", "max": ">"}[fn])
		return
	}
	u.replace(c.Fun, callee)
	if n := len(c.Args); n > 2 {
		u.insert(c.Lparen+1, 0, strings.Repeat(callee+"(", n-2))
		for _, a := range c.Args[1 : n-1] {
			u.insert(a.End(), 0, ")")
		}
	}
	u.note(RuleMinMax, c.Pos(), "rewrote %s to %s (the interpreter has no %s builtin)", fn, callee, fn)
}

// mathName returns the local name of package math, importing it if
// needed, or "" if the name is taken.
func (u *unit) mathName() string {
	if n := u.pathNames["math"]; n != "" {
		return n
	}
	if u.spelled("math") || u.isDeclared("math") || !u.allowed("math") {
		return ""
	}
	u.pkgNames["math"] = "math"
	u.pathNames["math"] = "math"
	u.addImports = append(u.addImports, "math")
	return "math"
}

// minMaxHelper returns the name of a generated helper such as minInt.
func (u *unit) minMaxHelper(fn, typ string) string {
	key := fn + ":" + typ
	if name := u.genNames[key]; name != "" {
		return name
	}
	name := u.fresh(fn + strings.ToUpper(typ[:1]) + typ[1:])
	u.genNames[key] = name
	u.genOrder = append(u.genOrder, name)
	op := "<"
	if fn == "max" {
		op = ">"
	}
	u.addFuncs = append(u.addFuncs, "func "+name+"(a, b "+typ+") "+typ+" {\n\tif b "+op+" a {\n\t\treturn b\n\t}\n\treturn a\n}\n")
	return name
}

// compatClear rewrites the statement clear(x) for maps and slices of
// known type.
func (u *unit) compatClear(st *ast.ExprStmt, c *ast.CallExpr) {
	if len(c.Args) != 1 || !u.pure(c.Args[0]) {
		u.reject(RuleClear, c.Pos(), "clear is not available in the interpreter: delete the keys in a loop (`for k := range m { delete(m, k) }`) or set the elements to zero")
		return
	}
	x := u.text(c.Args[0])
	t, _ := u.typeOf(c.Args[0], 0)
	if u.isDeclared("delete") {
		t = nil
	}
	fuel := u.fuelCheck()
	switch t := t.(type) {
	case *ast.MapType:
		if k := u.typeName(t.Key); k != "" && k != "float32" && k != "float64" && k != "any" && k != "complex64" && k != "complex128" && k != "error" {
			v := u.fresh("k")
			u.replace(st, "for "+v+" := range "+x+" {\n"+fuel+"\ndelete("+x+", "+v+")\n}")
			u.note(RuleClear, c.Pos(), "rewrote clear of a map to a loop of delete (the interpreter has no clear builtin)")
			return
		}
	case *ast.ArrayType:
		if zero := u.zeroValue(t.Elt); t.Len == nil && zero != "" {
			v := u.fresh("i")
			u.replace(st, "for "+v+" := range "+x+" {\n"+fuel+"\n"+x+"["+v+"] = "+zero+"\n}")
			u.note(RuleClear, c.Pos(), "rewrote clear of a slice to a loop setting each element to %s (the interpreter has no clear builtin)", zero)
			return
		}
	}
	u.reject(RuleClear, c.Pos(), "clear is not available in the interpreter and the type of %s is not certain: delete the keys in a loop (`for k := range m { delete(m, k) }`) or set the elements to zero in a loop", x)
}

// zeroValue is the zero value of a simple element type, or "".
func (u *unit) zeroValue(t ast.Expr) string {
	switch n := u.typeName(t); {
	case n == "string":
		return `""`
	case n == "bool":
		return "false"
	case n == "any" || n == "error":
		return "nil"
	case n != "" && n != "complex64" && n != "complex128":
		return "0"
	}
	switch t := t.(type) {
	case *ast.StarExpr, *ast.MapType, *ast.FuncType, *ast.InterfaceType:
		return "nil"
	case *ast.ArrayType:
		if t.Len == nil {
			return "nil"
		}
	}
	return ""
}

// pure reports whether evaluating e twice is harmless: no calls but len
// and cap, no receives.
func (u *unit) pure(e ast.Expr) bool {
	ok := true
	ast.Inspect(e, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if !(u.isBuiltin(n.Fun, "len") || u.isBuiltin(n.Fun, "cap")) && !(u.isTypeExpr(n.Fun) && len(n.Args) == 1) {
				ok = false
			}
		case *ast.UnaryExpr:
			if n.Op == token.ARROW {
				ok = false
			}
		case *ast.FuncLit, *ast.CompositeLit:
			ok = false
		}
		return ok
	})
	return ok
}

// stable reports whether e is pure and none of its variables is assigned
// in body.
func (u *unit) stable(e ast.Expr, body ast.Node) bool {
	if !u.pure(e) {
		return false
	}
	ok := true
	ast.Inspect(e, func(n ast.Node) bool {
		if id, isID := n.(*ast.Ident); isID && u.obj(id) != nil && u.obj(id).kind == objVar && u.assignedIn(id, body) {
			ok = false
		}
		if _, isStar := n.(*ast.StarExpr); isStar {
			ok = false
		}
		return ok
	})
	return ok
}

// assignedIn reports whether the variable id names may change within n:
// assigned (also through a field or element), incremented, or its address
// taken.
func (u *unit) assignedIn(id *ast.Ident, n ast.Node) bool {
	obj := u.obj(id)
	if obj == nil {
		return true
	}
	hit := false
	isVar := func(e ast.Expr) bool {
		for {
			switch x := e.(type) {
			case *ast.Ident:
				return u.obj(x) == obj
			case *ast.ParenExpr:
				e = x.X
			case *ast.SelectorExpr:
				e = x.X
			case *ast.IndexExpr:
				e = x.X
			default:
				return false
			}
		}
	}
	ast.Inspect(n, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for _, l := range n.Lhs {
				if isVar(l) {
					hit = true
				}
			}
		case *ast.IncDecStmt:
			if isVar(n.X) {
				hit = true
			}
		case *ast.RangeStmt:
			if n.Tok == token.ASSIGN && ((n.Key != nil && isVar(n.Key)) || (n.Value != nil && isVar(n.Value))) {
				hit = true
			}
		case *ast.UnaryExpr:
			if n.Op == token.AND && isVar(n.X) {
				hit = true
			}
		}
		return !hit
	})
	return hit
}

// captured reports whether a function literal within n refers to the
// variable id declares, or n takes its address.
func (u *unit) captured(id *ast.Ident, n ast.Node) bool {
	obj := u.obj(id)
	if obj == nil || !u.hasLitOrAddr(n) {
		return false
	}
	hit := false
	var walk func(n ast.Node, inLit bool)
	walk = func(n ast.Node, inLit bool) {
		ast.Inspect(n, func(m ast.Node) bool {
			if hit {
				return false
			}
			switch m := m.(type) {
			case *ast.FuncLit:
				if !inLit {
					walk(m.Body, true)
					return false
				}
			case *ast.Ident:
				if inLit && u.obj(m) == obj {
					hit = true
				}
			case *ast.UnaryExpr:
				if m.Op == token.AND {
					if x, ok := ast.Unparen(m.X).(*ast.Ident); ok && u.obj(x) == obj {
						hit = true
					}
				}
			}
			return true
		})
	}
	walk(n, false)
	return hit
}

// hasLitOrAddr reports whether n contains a function literal or takes an
// address, the only ways a variable can outlive one iteration.
func (u *unit) hasLitOrAddr(n ast.Node) bool {
	from, to := n.Pos(), n.End()
	for _, sp := range u.litSpans {
		if sp[0] >= from && sp[1] <= to {
			return true
		}
	}
	return false
}

// fuelCheck is the statement the instrumentation puts at the start of
// every loop body.
func (u *unit) fuelCheck() string {
	return "if " + MeterVar + "." + FuelField + "--; " + MeterVar + "." + FuelField + " < 0 {\n" + MeterVar + "." + RefuelMethod + "()\n}"
}
