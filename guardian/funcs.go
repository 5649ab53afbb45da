package guardian

import (
	"go/ast"
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
	index, low                 int // Tarjan
	onStack, cyclic            bool

	// covenant
	cov covFn
}

// fnIndex lists the functions of the file.
type fnIndex struct {
	all    []*fnInfo
	byLit  map[*ast.FuncLit]*fnInfo
	byDecl map[*ast.FuncDecl]*fnInfo
	entry  *fnInfo
}

func (u *unit) indexFuncs() *fnIndex {
	idx := &fnIndex{byLit: map[*ast.FuncLit]*fnInfo{}, byDecl: map[*ast.FuncDecl]*fnInfo{}}
	var visit func(f *fnInfo)
	visit = func(f *fnInfo) {
		ast.Inspect(f.body, func(n ast.Node) bool {
			lit, ok := n.(*ast.FuncLit)
			if !ok {
				return true
			}
			lf := &fnInfo{lit: lit, typ: lit.Type, body: lit.Body, parent: f}
			idx.all = append(idx.all, lf)
			idx.byLit[lit] = lf
			visit(lf)
			return false
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
	if !ok || id.Obj == nil || id.Obj.Kind != ast.Fun {
		return nil
	}
	d, ok := id.Obj.Decl.(*ast.FuncDecl)
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
