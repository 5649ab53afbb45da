package guardian_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/batos-dev/batos/guardian"
)

// TestTypedPackagesCoverAllowlist fails when the default allowlist holds a
// package whose type information is not embedded: add it to the list in
// internal/gentypes and run `go generate ./guardian`.
func TestTypedPackagesCoverAllowlist(t *testing.T) {
	typed := guardian.TypedPackages()
	require.NotEmpty(t, typed, "the embedded type information does not load")
	for _, p := range append(guardian.DefaultImports(), "unicode/utf8") {
		assert.Contains(t, typed, p, "no type information for %q: add it to guardian/internal/gentypes and run go generate ./guardian", p)
	}
}

// TestStdTypesUpToDate regenerates the embedded type information with the
// documented command and compares: it fails when stdtypes.bin is stale
// (another package list or Go version).
func TestStdTypesUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the Go toolchain")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no Go toolchain")
	}
	out := filepath.Join(t.TempDir(), "stdtypes.bin")
	cmd := exec.Command(goCmd, "run", "./internal/gentypes", "-o", out)
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", msg)
	fresh, err := os.ReadFile(out)
	require.NoError(t, err)
	embedded, err := os.ReadFile("stdtypes.bin")
	require.NoError(t, err)
	require.True(t, bytes.Equal(fresh, embedded), "guardian/stdtypes.bin is stale: run go generate ./guardian")
}

// method wraps a body (and helpers after it) in a method file importing
// strings and the host package.
func method(body string) []byte {
	return []byte("package m\n\nimport (\n\t\"strings\"\n\n\t\"batos\"\n)\n\nfunc f(self batos.Self, args []any) (any, error) {\n\t_ = strings.ToUpper\n" + body + "\n")
}

// TestTypeErrors checks that what the interpreter ran although Go rejects
// it is refused, in gc's words, at gc's position.
func TestTypeErrors(t *testing.T) {
	for _, c := range []struct {
		name, body string
		want       []string // findings of rule types.check, as "line:col: message"
	}{
		{"slice returned as bool", "\treturn ok([]int{1}), nil\n}\n\nfunc ok(xs []int) bool {\n\tresult := xs\n\treturn result\n}",
			[]string{"16:9: cannot use result (variable of type []int) as bool value in return statement"}},
		{"int returned as float64", "\treturn avg([]int{1}), nil\n}\n\nfunc avg(xs []int) float64 {\n\ts := 0\n\tfor _, x := range xs {\n\t\ts += x\n\t}\n\treturn s / len(xs)\n}",
			[]string{"19:9: cannot use s / len(xs) (value of type int) as float64 value in return statement"}},
		{"int compared with true", "\tn := len(args)\n\tif n == true {\n\t\treturn 1, nil\n\t}\n\treturn 0, nil\n}",
			[]string{"12:10: invalid operation: n == true (mismatched types int and untyped bool)"}},
		{"byte as rune", "\ts := \"abc\"\n\tvar r rune = s[0]\n\treturn r, nil\n}",
			[]string{"12:15: cannot use s[0] (value of type byte) as rune value in variable declaration"}},
		{"interface as string", "\treturn strings.ToUpper(args[0]), nil\n}",
			[]string{"11:25: cannot use args[0] (variable of interface type any) as string value in argument to strings.ToUpper: need type assertion"}},
		{"assignment to a string index", "\ts := \"abc\"\n\ts[0] = 'x'\n\treturn s, nil\n}",
			[]string{"12:2: cannot assign to s[0] (neither addressable nor a map index expression)"}},
		{"missing return", "\tif len(args) > 0 {\n\t\treturn 1, nil\n\t}\n}",
			[]string{"14:1: missing return"}},
		{"all at once", "\tx := 1\n\treturn y, nil\n}",
			[]string{"11:2: declared and not used: x", "12:9: undefined: y"}},
		{"forbidden package unimported", "\treturn os.Getenv(\"HOME\"), nil\n}",
			[]string{"11:9: undefined: os (package os is not available to methods (a method has no access to files or processes; keep data in the object's slots with self.Get and self.Set); they may import only "}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := guardian.Audit(method(c.body), "f", guardian.Options{})
			var rej *guardian.Rejection
			require.ErrorAs(t, err, &rej)
			var got []string
			for _, f := range rej.Findings {
				require.Equal(t, guardian.RuleTypes, f.Rule, "got findings\n%v", rej)
				got = append(got, f.String())
			}
			require.Len(t, got, len(c.want), "got findings\n%v", rej)
			for i, w := range c.want {
				line, msg, _ := strings.Cut(w, ": ")
				assert.True(t, strings.HasPrefix(got[i], line+": types.check: "+msg), "got %s, want %s", got[i], w)
			}
		})
	}
}

// TestCallOfNonFunction: `max(max, x)` with a local max is a type error;
// the covenant must not blame a missing MarkChanged for it.
func TestCallOfNonFunction(t *testing.T) {
	src := method("\txs, _ := self.Get(\"xs\").([]any)\n\tmax := 0\n\tfor _, x := range xs {\n\t\tn, _ := x.(int)\n\t\tmax = max(max, n)\n\t}\n\treturn max, nil\n}")
	_, err := guardian.Audit(src, "f", guardian.Options{})
	var rej *guardian.Rejection
	require.ErrorAs(t, err, &rej)
	assert.False(t, rej.Has(guardian.RuleCovenant), "got findings\n%v\nwant no covenant finding", rej)
	assert.Contains(t, rej.Error(), "15:9: types.check: invalid operation: cannot call max (variable of type int): int is not a function")
}

// TestTypeErrorsJoinFindings: a type error and a broken rule come back in
// one rejection.
func TestTypeErrorsJoinFindings(t *testing.T) {
	_, err := guardian.Audit(method("\tgo func() {}()\n\treturn nil\n}"), "f", guardian.Options{})
	var rej *guardian.Rejection
	require.ErrorAs(t, err, &rej)
	assert.True(t, rej.Has(guardian.RuleGoStatement), "got findings\n%v", rej)
	assert.Contains(t, rej.Error(), "12:9: types.check: not enough return values\n\thave (nil)\n\twant (any, error)")
}

// TestUntypedAllowedPackage: a package a host allows but whose type
// information is not embedded is imported unchecked; the rest of the file
// is still checked.
func TestUntypedAllowedPackage(t *testing.T) {
	opts := guardian.Options{Imports: append(guardian.DefaultImports(), "bufio")}
	require.NotContains(t, guardian.TypedPackages(), "bufio")
	src := []byte("package m\n\nimport (\n\t\"bufio\"\n\n\t\"batos\"\n)\n\nfunc f(self batos.Self, args []any) (any, error) {\n\treturn bufio.MaxScanTokenSize, nil\n}\n")
	_, err := guardian.Audit(src, "f", opts)
	require.NoError(t, err)
	bad := bytes.Replace(src, []byte("return bufio"), []byte("var b bool = 1\n\treturn bufio"), 1)
	_, err = guardian.Audit(bad, "f", opts)
	var rej *guardian.Rejection
	require.True(t, errors.As(err, &rej) && rej.Has(guardian.RuleTypes), "got %v, want a type error", err)
}
