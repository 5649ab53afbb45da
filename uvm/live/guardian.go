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

func checkCall(fn, self string) ast.Stmt {
	return &ast.ExprStmt{X: &ast.CallExpr{Fun: &ast.SelectorExpr{X: ast.NewIdent("batos"), Sel: ast.NewIdent(fn)}, Args: []ast.Expr{ast.NewIdent(self)}}}
}

func instrument(body *ast.BlockStmt, self string, entry bool) {
	ast.Inspect(body, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.ForStmt:
			x.Body.List = append([]ast.Stmt{checkCall("Step", self)}, x.Body.List...)
		case *ast.RangeStmt:
			x.Body.List = append([]ast.Stmt{checkCall("Step", self)}, x.Body.List...)
		case *ast.FuncLit:
			x.Body.List = append([]ast.Stmt{checkCall("Step", self)}, x.Body.List...)
		}
		return true
	})
	if entry {
		leave := &ast.DeferStmt{Call: checkCall("Leave", self).(*ast.ExprStmt).X.(*ast.CallExpr)}
		body.List = append([]ast.Stmt{checkCall("Enter", self), leave}, body.List...)
	}
}
