package guardian

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestResolve checks what identifiers denote. In each case, a use is
// written name@n (the n-th identifier spelled name in the source, from 1)
// and must resolve to the object declared by the identifier name@m, or to
// nothing (m = 0).
func TestResolve(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		want map[string]int // "x@3": 1 means the third x denotes what the first x declares
		kind map[string]objKind
	}{
		{
			name: "parameters and results",
			src:  "func f(a int) (b int) { b = a; return b }",
			want: map[string]int{"a@1": 1, "a@2": 1, "b@2": 1, "b@3": 1},
			kind: map[string]objKind{"a@1": objVar, "b@1": objVar, "f@1": objFun},
		},
		{
			name: "short variable declaration redeclares in its own scope only",
			src:  "func f() { x := 1; x, y := 2, 3; { x, z := y, 4; _ = z }; _ = x }",
			want: map[string]int{"x@2": 1, "y@2": 1, "x@3": 3, "x@4": 1},
		},
		{
			name: "range variables and shadowing blocks",
			src:  "func f(s []int) { for i, v := range s { i := i; _ = v; _ = i } ; _ = s }",
			want: map[string]int{"s@2": 1, "s@3": 1, "i@3": 1, "i@4": 2, "v@2": 1},
		},
		{
			name: "a type switch guard is one object for every clause",
			src:  "func f(a any) { switch v := a.(type) { case int: _ = v; case string: _ = v } }",
			want: map[string]int{"v@2": 1, "v@3": 1},
		},
		{
			name: "closures see the variables around them",
			src:  "func f() { n := 0; g := func(k int) { n += k }; g(1) }",
			want: map[string]int{"n@2": 1, "k@2": 1, "g@2": 1},
		},
		{
			name: "labels belong to their function body, forward references included",
			src:  "func f() { for { continue L }\nL: for { break L }; func() { L: for { break L } }() }",
			want: map[string]int{"L@1": 2, "L@3": 2, "L@5": 4},
			kind: map[string]objKind{"L@2": objLbl},
		},
		{
			name: "top-level names resolve in any order",
			src:  "func f() int { return g() + k }\nfunc g() int { return 1 }\nconst k = 2",
			want: map[string]int{"g@1": 2, "k@1": 2},
			kind: map[string]objKind{"k@2": objCon, "g@2": objFun},
		},
		{
			name: "a composite literal key resolves only to what is declared before it",
			src:  "const a = 1\nfunc f() { _ = map[int]int{a: 1, b: 2} }\nconst b = 2",
			want: map[string]int{"a@2": 1, "b@1": 0},
		},
		{
			name: "universe and imported names denote nothing",
			src:  "func f(s string) int { return len(strings.TrimSpace(s)) }",
			want: map[string]int{"len@1": 0, "string@1": 0, "strings@1": 0, "int@1": 0},
		},
		{
			name: "types, fields and local types",
			src:  "type pt struct{ x, y int }\nfunc f() pt { type q = pt; var v q; v.x = 1; return v }",
			want: map[string]int{"pt@2": 1, "pt@3": 1, "q@2": 1, "v@2": 1, "v@3": 1, "x@2": 0},
			kind: map[string]objKind{"pt@1": objTyp, "x@1": objVar},
		},
		{
			name: "a receiver's type parameter is in scope but denotes nothing",
			src:  "type T[E any] struct{}\nfunc (t T[E]) m(e E) {}",
			want: map[string]int{"E@3": 0, "E@2": 0},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "package p\n\n" + tc.src + "\n"
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, "", src, parser.SkipObjectResolution)
			require.NoError(t, err)
			res, ok, _ := resolveFile(f, fset.File(f.Package))
			require.True(t, ok)
			ids := map[string]*ast.Ident{}
			count := map[string]int{}
			ast.Inspect(f, func(n ast.Node) bool {
				if id, ok := n.(*ast.Ident); ok {
					count[id.Name]++
					ids[id.Name+"@"+strconv.Itoa(count[id.Name])] = id
				}
				return true
			})
			for use, decl := range tc.want {
				id := ids[use]
				require.NotNil(t, id, "no identifier %s", use)
				o := res.obj(id)
				if decl == 0 {
					assert.Nil(t, o, "%s denotes %v, want nothing", use, o)
					continue
				}
				d := ids[strings.Split(use, "@")[0]+"@"+strconv.Itoa(decl)]
				if assert.NotNil(t, o, "%s denotes nothing", use) {
					assert.Equal(t, d.Pos(), o.pos(), "%s denotes the object declared at %v, want %v", use, fset.Position(o.pos()), fset.Position(d.Pos()))
				}
			}
			for name, kind := range tc.kind {
				o := res.obj(ids[name])
				if assert.NotNil(t, o, "%s denotes nothing", name) {
					assert.Equal(t, kind, o.kind, "kind of %s", name)
				}
			}
		})
	}
}

// TestResolveDepth checks that scopes nested deeper than go/parser allowed
// are a syntax error, where the limit is passed.
func TestResolveDepth(t *testing.T) {
	nest := func(n int) string {
		return "package method\n\nimport \"batos\"\n\nfunc m(self batos.Self, args []any) (any, error) {\n" +
			strings.Repeat("{", n) + strings.Repeat("}", n) + "\n\treturn nil, nil\n}\n"
	}
	// The package scope, the function's, then the blocks.
	_, err := Audit([]byte(nest(maxScopeDepth-2)), "m", Options{})
	require.NoError(t, err)
	_, err = Audit([]byte(nest(maxScopeDepth-1)), "m", Options{})
	var rej *Rejection
	require.ErrorAs(t, err, &rej)
	require.Len(t, rej.Findings, 1)
	f := rej.Findings[0]
	assert.Equal(t, RuleSourceParse, f.Rule)
	assert.Equal(t, 6, f.Pos.Line)
	assert.Equal(t, maxScopeDepth-1, f.Pos.Column, "the innermost block is the one too deep")
	assert.Contains(t, f.Message, scopeDepthMessage)
}
