package guardian

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
)

// strip removes the guardian's own instrumentation from src, so that
// instrumented output audits to itself: every recognised form (the meter
// variable and parameter, Enter, Leave, fuel checks, Alloc, wrappers) is
// taken out, and any other use of a reserved identifier is left for the
// audit to reject. The result is audited and instrumented afresh, so a
// forged instrumentation gains nothing. When src does not parse, it is
// returned unchanged.
func strip(src []byte) []byte {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return src
	}
	tf := fset.File(f.Package)
	if tf == nil {
		return src
	}
	s := &stripper{src: src, tf: tf, host: HostPackage}
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == HostPackage && imp.Name != nil {
			s.host = imp.Name.Name
		}
	}
	ast.Inspect(f, s.visit)
	out, err := applyEdits(src, s.edits)
	if err != nil {
		return src
	}
	return out
}

type stripper struct {
	src   []byte
	tf    *token.File
	host  string
	edits []edit
}

func (s *stripper) off(p token.Pos) int { return s.tf.Offset(p) }

func (s *stripper) del(from, to int) {
	s.edits = append(s.edits, edit{start: from, end: to, seq: len(s.edits)})
}

// delStmt deletes a statement together with its line when it stands alone.
func (s *stripper) delStmt(st ast.Stmt) {
	from, to := s.off(st.Pos()), s.off(st.End())
	i := from
	for i > 0 && (s.src[i-1] == ' ' || s.src[i-1] == '\t') {
		i--
	}
	if i > 0 && s.src[i-1] == '\n' {
		from = i - 1
	} else if to < len(s.src) && s.src[to] == ';' {
		to++
	}
	s.del(from, to)
}

func (s *stripper) visit(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.BlockStmt:
		return s.list(n.List)
	case *ast.CaseClause:
		for _, e := range n.List {
			ast.Inspect(e, s.visit)
		}
		return s.list(n.Body)
	case *ast.CommClause:
		if n.Comm != nil {
			ast.Inspect(n.Comm, s.visit)
		}
		return s.list(n.Body)
	case *ast.FuncDecl:
		if fl := n.Type.Params; fl != nil && len(fl.List) > 0 && s.isMeterParam(fl.List[0]) {
			if len(fl.List) > 1 {
				s.del(s.off(fl.List[0].Pos()), s.off(fl.List[1].Pos()))
			} else {
				s.del(s.off(fl.List[0].Pos()), s.off(fl.List[0].End()))
			}
		}
	case *ast.CallExpr:
		if arg := s.allocArg(n); arg != nil {
			s.del(s.off(n.Pos()), s.off(arg.Pos()))
			s.del(s.off(arg.End()), s.off(n.End()))
			return true
		}
		if _, ok := n.Fun.(*ast.Ident); ok && len(n.Args) > 0 && isName(n.Args[0], MeterVar) {
			if len(n.Args) > 1 {
				s.del(s.off(n.Args[0].Pos()), s.off(n.Args[1].Pos()))
			} else {
				s.del(s.off(n.Args[0].Pos()), s.off(n.Args[0].End()))
			}
		}
	case *ast.FuncLit:
		if name := s.wrapped(n); name != "" {
			s.edits = append(s.edits, edit{start: s.off(n.Pos()), end: s.off(n.End()), seq: len(s.edits), text: name})
			return false
		}
	}
	return true
}

// list deletes instrumentation statements of a statement list and walks
// the others.
func (s *stripper) list(list []ast.Stmt) bool {
	for _, st := range list {
		if s.isInstrumentation(st) {
			s.delStmt(st)
			continue
		}
		ast.Inspect(st, s.visit)
	}
	return false
}

func (s *stripper) isInstrumentation(st ast.Stmt) bool {
	switch st := st.(type) {
	case *ast.AssignStmt:
		// __meter := batos.Enter(self)
		if st.Tok != token.DEFINE || len(st.Lhs) != 1 || len(st.Rhs) != 1 || !isName(st.Lhs[0], MeterVar) {
			return false
		}
		call, ok := st.Rhs[0].(*ast.CallExpr)
		return ok && len(call.Args) == 1 && isSel(call.Fun, s.host, EnterFunc) && isIdent(call.Args[0])
	case *ast.ExprStmt:
		// __meter.Enter() and __meter.Alloc(n)
		call, ok := st.X.(*ast.CallExpr)
		return ok && ((len(call.Args) == 0 && isSel(call.Fun, MeterVar, EnterFunc)) || (len(call.Args) == 1 && isSel(call.Fun, MeterVar, AllocMethod)))
	case *ast.DeferStmt:
		return len(st.Call.Args) == 0 && isSel(st.Call.Fun, MeterVar, LeaveMethod)
	case *ast.IfStmt:
		// if __meter.Fuel--; __meter.Fuel < 0 { __meter.Refuel() }
		inc, ok := st.Init.(*ast.IncDecStmt)
		if !ok || inc.Tok != token.DEC || !isSel(inc.X, MeterVar, FuelField) || st.Else != nil {
			return false
		}
		cond, ok := st.Cond.(*ast.BinaryExpr)
		if !ok || cond.Op != token.LSS || !isSel(cond.X, MeterVar, FuelField) {
			return false
		}
		if lit, ok := cond.Y.(*ast.BasicLit); !ok || lit.Value != "0" {
			return false
		}
		if len(st.Body.List) != 1 {
			return false
		}
		es, ok := st.Body.List[0].(*ast.ExprStmt)
		if !ok {
			return false
		}
		call, ok := es.X.(*ast.CallExpr)
		return ok && len(call.Args) == 0 && isSel(call.Fun, MeterVar, RefuelMethod)
	}
	return false
}

func (s *stripper) isMeterParam(f *ast.Field) bool {
	if len(f.Names) != 1 || f.Names[0].Name != MeterVar {
		return false
	}
	star, ok := f.Type.(*ast.StarExpr)
	return ok && isSel(star.X, s.host, MeterType)
}

// allocArg returns n of __meter.Alloc(n) used as an expression.
func (s *stripper) allocArg(c *ast.CallExpr) ast.Expr {
	if len(c.Args) == 1 && !c.Ellipsis.IsValid() && isSel(c.Fun, MeterVar, AllocMethod) {
		return c.Args[0]
	}
	return nil
}

// wrapped returns h if lit is the wrapper func(__a0 T, ...) R { return h(__meter, __a0, ...) }.
func (s *stripper) wrapped(lit *ast.FuncLit) string {
	var params []string
	variadic := false
	for _, f := range lit.Type.Params.List {
		for _, id := range f.Names {
			params = append(params, id.Name)
		}
		if len(f.Names) != 1 {
			return ""
		}
		_, variadic = f.Type.(*ast.Ellipsis)
	}
	for i, p := range params {
		if p != WrapperParamPrefix+strconv.Itoa(i) {
			return ""
		}
	}
	if len(lit.Body.List) != 1 {
		return ""
	}
	var call *ast.CallExpr
	switch st := lit.Body.List[0].(type) {
	case *ast.ReturnStmt:
		if len(st.Results) == 1 {
			call, _ = st.Results[0].(*ast.CallExpr)
		}
	case *ast.ExprStmt:
		call, _ = st.X.(*ast.CallExpr)
	}
	if call == nil || len(call.Args) != len(params)+1 || call.Ellipsis.IsValid() != variadic || !isName(call.Args[0], MeterVar) {
		return ""
	}
	for i, p := range params {
		if !isName(call.Args[i+1], p) {
			return ""
		}
	}
	fn, ok := call.Fun.(*ast.Ident)
	if !ok || strings.HasPrefix(fn.Name, ReservedPrefix) {
		return ""
	}
	return fn.Name
}

func isName(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

func isIdent(e ast.Expr) bool {
	_, ok := e.(*ast.Ident)
	return ok
}

func isSel(e ast.Expr, x, sel string) bool {
	s, ok := e.(*ast.SelectorExpr)
	return ok && s.Sel.Name == sel && isName(s.X, x)
}
