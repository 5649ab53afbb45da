package guardian

import (
	"go/ast"
	"go/token"
)

// A fnInfo is one function of the file: the entry, a helper, or a function
// literal.
type fnInfo struct {
	name   string // entry or helper name; "" for literals
	decl   *ast.FuncDecl
	lit    *ast.FuncLit
	typ    *ast.FuncType
	body   *ast.BlockStmt
	parent *fnInfo // enclosing function of a literal
	entry  bool

	// instrumentation
	loops, allocs, unknownCall bool
	callees                    []*fnInfo
	needsEnter, needsMeter     bool
	needsCount                 bool // a fuel check at entry (literals and helpers used as values)
	asValue                    bool // a helper used as a value
	index, low                 int  // Tarjan
	onStack, cyclic            bool

	// covenant
	cov covFn

	nodes fnNodes // the function's own nodes (not those of nested literals)
}

// fnNodes lists the nodes of one function that the passes look at, so
// that each pass need not walk the tree again.
type fnNodes struct {
	calls     []*ast.CallExpr
	callStmts []*ast.ExprStmt // expression statements that are calls
	assigns   []*ast.AssignStmt
	specs     []*ast.ValueSpec
	ranges    []*ast.RangeStmt
	fors      []*ast.ForStmt
	returns   []*ast.ReturnStmt
	defers    []*ast.DeferStmt
	addrs     []*ast.UnaryExpr // &x
	funcIDs   []*ast.Ident     // identifiers naming the entry or a helper
	lits      []*ast.FuncLit   // literals directly inside
}

// fnIndex lists the functions of the file.
type fnIndex struct {
	res    *resolution
	all    []*fnInfo
	byLit  map[*ast.FuncLit]*fnInfo
	byDecl map[*ast.FuncDecl]*fnInfo
	entry  *fnInfo
}

func (u *unit) indexFuncs() *fnIndex {
	u.litSpans = u.litSpans[:0]
	idx := &fnIndex{res: &u.res, byLit: map[*ast.FuncLit]*fnInfo{}, byDecl: map[*ast.FuncDecl]*fnInfo{}}
	var visit func(f *fnInfo)
	visit = func(f *fnInfo) {
		nd := &f.nodes
		ast.Inspect(f.body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncLit:
				lf := &fnInfo{lit: n, typ: n.Type, body: n.Body, parent: f}
				idx.all = append(idx.all, lf)
				idx.byLit[n] = lf
				nd.lits = append(nd.lits, n)
				u.litSpans = append(u.litSpans, [2]token.Pos{n.Pos(), n.End()})
				visit(lf)
				return false
			case *ast.CallExpr:
				nd.calls = append(nd.calls, n)
			case *ast.ExprStmt:
				if _, ok := n.X.(*ast.CallExpr); ok {
					nd.callStmts = append(nd.callStmts, n)
				}
			case *ast.AssignStmt:
				nd.assigns = append(nd.assigns, n)
			case *ast.ValueSpec:
				nd.specs = append(nd.specs, n)
			case *ast.RangeStmt:
				nd.ranges = append(nd.ranges, n)
			case *ast.ForStmt:
				nd.fors = append(nd.fors, n)
			case *ast.ReturnStmt:
				nd.returns = append(nd.returns, n)
			case *ast.DeferStmt:
				nd.defers = append(nd.defers, n)
			case *ast.UnaryExpr:
				if n.Op == token.AND {
					nd.addrs = append(nd.addrs, n)
					u.litSpans = append(u.litSpans, [2]token.Pos{n.Pos(), n.End()})
				}
			case *ast.Ident:
				if o := u.obj(n); o != nil && o.kind == objFun {
					nd.funcIDs = append(nd.funcIDs, n)
				}
			}
			return true
		})
	}
	add := func(d *ast.FuncDecl, entry bool) {
		if d == nil || d.Body == nil {
			return
		}
		f := &fnInfo{name: d.Name.Name, decl: d, typ: d.Type, body: d.Body, entry: entry}
		idx.all = append(idx.all, f)
		idx.byDecl[d] = f
		if entry {
			idx.entry = f
		}
		visit(f)
	}
	add(u.entry, true)
	for _, h := range u.helperSeq {
		add(h, false)
	}
	return idx
}

// fnOf returns the entry or helper an identifier names, or nil.
func (idx *fnIndex) fnOf(e ast.Expr) *fnInfo {
	id, ok := ast.Unparen(e).(*ast.Ident)
	if !ok {
		return nil
	}
	o := idx.res.obj(id)
	if o == nil || o.kind != objFun {
		return nil
	}
	d, ok := o.decl.(*ast.FuncDecl)
	if !ok {
		return nil
	}
	return idx.byDecl[d]
}

// inspectOwn visits the body of f without entering nested function
// literals (the literal node itself is visited).
func inspectOwn(f *fnInfo, visit func(n ast.Node) bool) {
	ast.Inspect(f.body, func(n ast.Node) bool {
		if n == nil {
			return visit(nil)
		}
		if lit, ok := n.(*ast.FuncLit); ok && lit != f.lit {
			visit(n)
			return false
		}
		return visit(n)
	})
}
