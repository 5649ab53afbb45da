package live_test

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live"
)

// equivSource builds a method source from equiv_impl_test.go: its imports,
// every function in it, and an entry function for selector that calls fn.
func equivSource(t *testing.T, selector, fn string) string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "equiv_impl_test.go", mustRead(t, "equiv_impl_test.go"), 0)
	require.NoError(t, err)
	var b bytes.Buffer
	b.WriteString("package equiv\n\nimport (\n\t\"batos\"\n")
	for _, imp := range f.Imports {
		b.WriteString("\t" + imp.Path.Value + "\n")
	}
	b.WriteString(")\n\n")
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok {
			require.NoError(t, printer.Fprint(&b, fset, fd))
			b.WriteString("\n\n")
		}
	}
	b.WriteString("func " + selector + "(self batos.Self, args []any) (any, error) {\n\treturn " + fn + "(args), nil\n}\n")
	return b.String()
}

func mustRead(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	return string(b)
}

func TestEquivalence(t *testing.T) {
	cases := []struct {
		fn     string
		native func([]any) any
		args   []any
	}{
		{"eqWordFreq", eqWordFreq, []any{"The cat and the hat. The end; and THE start, isn't it? It is."}},
		{"eqCaesar", eqCaesar, []any{"Hello, Wörld! xyz", int64(3)}},
		{"eqPalindromes", eqPalindromes, []any{"Anna saw a racecar at noon, said Otto to level Bob"}},
		{"eqSortRecords", eqSortRecords, []any{[]any{
			map[string]any{"name": "ann", "team": "b", "score": int64(3)},
			map[string]any{"name": "bob", "team": "a", "score": int64(1)},
			map[string]any{"name": "cid", "team": "b", "score": int64(9)},
			map[string]any{"name": "dee", "team": "a", "score": int64(7)},
		}}},
		{"eqGroupBy", eqGroupBy, []any{"one two three four five six seven eight nine ten"}},
		{"eqClosures", eqClosures, nil},
		{"eqRecursion", eqRecursion, []any{int64(18)}},
		{"eqPermutations", eqPermutations, []any{int64(5)}},
		{"eqSort", eqSort, []any{int64(42)}},
		{"eqRoman", eqRoman, []any{int64(1994), int64(2026), int64(3888), int64(4)}},
		{"eqParse", eqParse, []any{"a, 1.5\nb, x\nc,2\nnone"}},
		{"eqNested", eqNested, []any{int64(4)}},
		{"eqPrimes", eqPrimes, []any{int64(100000)}},
		{"eqMillion", eqMillion, nil},
		{"eqDeep", eqDeep, []any{int64(3000)}},
		{"eqBigData", eqBigData, nil},
	}
	for _, policy := range policies {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			im, r := newImage(t, live.Options{Policy: policy, Workers: 1})
			var oid uvm.OID
			require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
				o, err := tx.New()
				if err != nil {
					return err
				}
				oid = o.OID()
				for _, c := range cases {
					sel := "run" + strings.TrimPrefix(c.fn, "eq")
					if _, err := r.Install(ctx, tx, o, uvm.Method{Selector: sel, Source: equivSource(t, sel, c.fn)}); err != nil {
						return err
					}
				}
				return nil
			}))
			for _, c := range cases {
				t.Run(c.fn, func(t *testing.T) {
					want, err := json.Marshal(c.native(c.args))
					require.NoError(t, err)
					v, err := im.Send(ctx, oid, "run"+strings.TrimPrefix(c.fn, "eq"), c.args...)
					require.NoError(t, err)
					got, err := json.Marshal(v)
					require.NoError(t, err)
					require.JSONEq(t, string(want), string(got))
				})
			}
		})
	}
}
