package live

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
)

// PROVISIONAL: the guardian package is being written; until its audit and
// instrumentation land, this stands in for them. It instruments functions
// that receive a batos.Self (and closures inside them) with budget checks.

func guardianImports() []string {
	return []string{"bytes", "errors", "fmt", "math", "math/bits", "sort", "strconv", "strings", "time", "unicode", "unicode/utf8", "slices", "maps", "cmp"}
}

func guardianAudit(src, selector string) (string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "method.go", src, parser.ParseComments)
	if err != nil {
		return "", fmt.Errorf("guardian: %w", err)
	}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		name := selfParam(fd.Type)
		if name == "" {
			continue
		}
		instrument(fd.Body, name, true)
	}
	var buf bytes.Buffer
	if err := format.Node(&buf, fset, f); err != nil {
		return "", err
	}
	return buf.String(), nil
}

func selfParam(ft *ast.FuncType) string {
	for _, p := range ft.Params.List {
		if se, ok := p.Type.(*ast.SelectorExpr); ok && se.Sel.Name == "Self" {
			if id, ok := se.X.(*ast.Ident); ok && id.Name == "batos" && len(p.Names) > 0 {
				return p.Names[0].Name
			}
		}
	}
	return ""
}

func meterCall(method string) ast.Stmt {
	return &ast.ExprStmt{X: &ast.CallExpr{Fun: &ast.SelectorExpr{X: ast.NewIdent("__meter"), Sel: ast.NewIdent(method)}}}
}

func fuelCheck() []ast.Stmt {
	fuel := &ast.SelectorExpr{X: ast.NewIdent("__meter"), Sel: ast.NewIdent("Fuel")}
	return []ast.Stmt{
		&ast.IncDecStmt{X: fuel, Tok: token.DEC},
		&ast.IfStmt{Cond: &ast.BinaryExpr{X: fuel, Op: token.LSS, Y: &ast.BasicLit{Kind: token.INT, Value: "0"}},
			Body: &ast.BlockStmt{List: []ast.Stmt{meterCall("Refuel")}}},
	}
}

func enterLeave() []ast.Stmt {
	return []ast.Stmt{meterCall("Enter"), &ast.DeferStmt{Call: meterCall("Leave").(*ast.ExprStmt).X.(*ast.CallExpr)}}
}

func instrument(body *ast.BlockStmt, self string, entry bool) {
	ast.Inspect(body, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.ForStmt:
			x.Body.List = append(fuelCheck(), x.Body.List...)
		case *ast.RangeStmt:
			x.Body.List = append(fuelCheck(), x.Body.List...)
		case *ast.FuncLit:
			x.Body.List = append(enterLeave(), x.Body.List...)
		case *ast.CallExpr:
			if id, ok := x.Fun.(*ast.Ident); ok && id.Name == "make" && len(x.Args) > 1 {
				if _, lit := x.Args[1].(*ast.BasicLit); !lit {
					x.Args[1] = &ast.CallExpr{Fun: &ast.SelectorExpr{X: ast.NewIdent("__meter"), Sel: ast.NewIdent("Alloc")}, Args: []ast.Expr{x.Args[1]}}
				}
			}
		}
		return true
	})
	if entry {
		enter := &ast.AssignStmt{Lhs: []ast.Expr{ast.NewIdent("__meter")}, Tok: token.DEFINE,
			Rhs: []ast.Expr{&ast.CallExpr{Fun: &ast.SelectorExpr{X: ast.NewIdent("batos"), Sel: ast.NewIdent("Enter")}, Args: []ast.Expr{ast.NewIdent(self)}}}}
		leave := &ast.DeferStmt{Call: meterCall("Leave").(*ast.ExprStmt).X.(*ast.CallExpr)}
		body.List = append([]ast.Stmt{enter, leave}, body.List...)
	}
}
