package guardian_test

import (
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/batos-dev/batos/guardian"
)

const tiny = `package method

import "batos"

func tiny(self batos.Self, args []any) (any, error) {
	return len(args), nil
}
`

// hasRule reports whether err is a rejection with a finding of rule.
func hasRule(err error, rule string) bool {
	var rej *guardian.Rejection
	return errors.As(err, &rej) && rej.Has(rule)
}

func TestSelector(t *testing.T) {
	for _, sel := range []string{"", "1abc", "func", "_", "init", "main", "__x", "a-b", "a b", "ünïcode-"} {
		_, err := guardian.Audit([]byte(tiny), sel, guardian.Options{})
		assert.ErrorIs(t, err, guardian.ErrSelector, "selector %q", sel)
	}
	_, err := guardian.Audit([]byte(tiny), "tiny", guardian.Options{})
	require.NoError(t, err)
}

func TestDefaultImportsIsACopy(t *testing.T) {
	a := guardian.DefaultImports()
	a[0] = "os"
	b := guardian.DefaultImports()
	require.NotEqual(t, "os", b[0], "DefaultImports returned shared state")
	for _, p := range []string{"os", "os/exec", "syscall", "unsafe", "reflect", "runtime", "net", "io/fs", "plugin", "slices", "maps"} {
		assert.NotContains(t, b, p, "default allowlist holds %q", p)
	}
	assert.Equal(t, b, guardian.DefaultOptions().Imports, "DefaultOptions().Imports differs from DefaultImports()")
}

func TestZeroOptionsAreDefaults(t *testing.T) {
	d := guardian.DefaultOptions()
	assert.Equal(t, 64<<10, d.MaxSourceBytes)
	assert.Equal(t, 20, d.MaxFindings)
	assert.Equal(t, 1024, d.SmallAlloc)
	assert.Equal(t, 1<<16, d.MaxArray)
	big := tiny + "\n// " + strings.Repeat("x", 64<<10) + "\n"
	_, err := guardian.Audit([]byte(big), "tiny", guardian.Options{})
	assert.True(t, hasRule(err, guardian.RuleSourceSize), "zero options: got %v, want %s", err, guardian.RuleSourceSize)
	_, err = guardian.Audit([]byte(big), "tiny", guardian.Options{MaxSourceBytes: 1 << 20})
	assert.NoError(t, err, "raised limit")
}

func TestCustomImports(t *testing.T) {
	src := []byte(`package method

import (
	"strings"

	"batos"
)

func up(self batos.Self, args []any) (any, error) {
	return strings.ToUpper("x"), nil
}
`)
	_, err := guardian.Audit(src, "up", guardian.Options{Imports: []string{}})
	assert.True(t, hasRule(err, guardian.RuleImportForbidden), "empty allowlist: got %v, want %s", err, guardian.RuleImportForbidden)
	_, err = guardian.Audit(src, "up", guardian.Options{Imports: []string{"strings"}})
	assert.NoError(t, err, "strings allowed")
}

func TestMaxFindings(t *testing.T) {
	var b strings.Builder
	b.WriteString("package method\n\nimport \"batos\"\n\n")
	for i := 0; i < 30; i++ {
		fmt.Fprintf(&b, "var v%d int\n", i)
	}
	b.WriteString("\nfunc many(self batos.Self, args []any) (any, error) { return nil, nil }\n")
	_, err := guardian.Audit([]byte(b.String()), "many", guardian.Options{})
	var rej *guardian.Rejection
	require.ErrorAs(t, err, &rej)
	assert.Len(t, rej.Findings, 20)
	assert.Equal(t, 10, rej.Omitted)
	assert.True(t, strings.HasPrefix(rej.Error(), "guardian: method many rejected (30 findings)"), "got error text %q", rej.Error())
	assert.Contains(t, rej.Error(), "(10 more)")
	for i := 1; i < len(rej.Findings); i++ {
		assert.GreaterOrEqual(t, rej.Findings[i].Pos.Line, rej.Findings[i-1].Pos.Line, "findings out of order: %v before %v", rej.Findings[i-1], rej.Findings[i])
	}
}

func TestFindingString(t *testing.T) {
	f := guardian.Finding{Rule: guardian.RuleGoStatement, Pos: token.Position{Line: 3, Column: 2}, Message: "no"}
	assert.Equal(t, "3:2: stmt.go: no", f.String())
}

func TestParseErrorPosition(t *testing.T) {
	_, err := guardian.Audit([]byte("package method\n\nfunc f( {\n"), "f", guardian.Options{})
	var rej *guardian.Rejection
	require.ErrorAs(t, err, &rej)
	require.True(t, rej.Has(guardian.RuleSourceParse), "got %v", err)
	assert.Equal(t, 3, rej.Findings[0].Pos.Line, "got position %v, want line 3", rej.Findings[0].Pos)
}

func TestReport(t *testing.T) {
	src := []byte(`package counting

import (
	"strings"

	"batos"
)

func count(self batos.Self, args []any) (any, error) {
	s, _ := self.Get("s").(string)
	n := 0
	for _, c := range s {
		if isVowel(c) {
			n++
		}
	}
	return strings.Repeat("*", n) + tag(), nil
}

func isVowel(c rune) bool { return strings.ContainsRune("aeiou", c) }

func tag() string { return "!" }
`)
	rep, err := guardian.Audit(src, "count", guardian.Options{})
	require.NoError(t, err)
	assert.Equal(t, "count", rep.Selector)
	assert.Equal(t, "counting", rep.Package)
	assert.False(t, rep.Writes)
	assert.Equal(t, []string{"batos", "strings", "unicode/utf8"}, rep.Imports)
	assert.Equal(t, []string{"isVowel", "tag"}, rep.Helpers)
	if assert.Len(t, rep.Rewrites, 1) {
		assert.Equal(t, guardian.RuleRangeString, rep.Rewrites[0].Rule, "got rewrites %v", rep.Rewrites)
		assert.Equal(t, 12, rep.Rewrites[0].Pos.Line, "got rewrites %v", rep.Rewrites)
	}
	// The identifiers of the contract appear as documented.
	for _, want := range []string{
		guardian.MeterVar + " := " + guardian.HostPackage + "." + guardian.EnterFunc + "(self)",
		"defer " + guardian.MeterVar + "." + guardian.LeaveMethod + "()",
		"if " + guardian.MeterVar + "." + guardian.FuelField + "--; " + guardian.MeterVar + "." + guardian.FuelField + " < 0 {",
		guardian.MeterVar + "." + guardian.RefuelMethod + "()",
		"strings.Repeat(\"*\", " + guardian.MeterVar + "." + guardian.AllocMethod + "(n))",
	} {
		assert.Contains(t, string(rep.Source), want, "instrumented source lacks %q", want)
	}
	// Leaf helpers keep their signatures: they cannot loop or recurse.
	assert.Contains(t, string(rep.Source), "func isVowel(c rune) bool", "leaf helper changed")
}

// TestConcurrent audits the catalogue from many goroutines at once: the
// guardian keeps no state between calls.
func TestConcurrent(t *testing.T) {
	cases := loadCatalogue(t)
	want := make([]string, len(cases))
	for i, tc := range cases {
		rep, err := guardian.Audit(tc.src, tc.selector, tc.opts)
		want[i] = fmt.Sprint(err)
		if err == nil {
			want[i] = string(rep.Source)
		}
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, tc := range cases {
				rep, err := guardian.Audit(tc.src, tc.selector, tc.opts)
				got := fmt.Sprint(err)
				if err == nil {
					got = string(rep.Source)
				}
				assert.Equal(t, want[i], got, "%s: concurrent audit differs", tc.name)
			}
		}()
	}
	wg.Wait()
}

// TestStdlibOnly keeps the package free of other packages of this module
// (and of any dependency but the reader of the embedded type information,
// golang.org/x/tools/go/gcexportdata): it must be fuzzable alone.
func TestStdlibOnly(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		src, err := os.ReadFile(file)
		require.NoError(t, err)
		f, err := parser.ParseFile(token.NewFileSet(), file, src, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if p == "golang.org/x/tools/go/gcexportdata" {
				continue
			}
			first, _, _ := strings.Cut(p, "/")
			assert.NotContains(t, first, ".", "%s imports %s: the guardian imports the standard library only", file, p)
		}
	}
}

// TestForgedInstrumentation feeds the guardian its own instrumentation in
// places it would never put it.
func TestForgedInstrumentation(t *testing.T) {
	for name, body := range map[string]string{
		"leave in body":     "__meter := batos.Enter(self)\n\t__meter.Leave()\n\treturn nil, nil",
		"fuel refill":       "__meter := batos.Enter(self)\n\t__meter.Fuel = 1 << 60\n\treturn nil, nil",
		"meter escapes":     "__meter := batos.Enter(self)\n\treturn __meter, nil",
		"wrapper lookalike": "f := func(__a0 int) int { return __a0 }\n\treturn f(1), nil",
	} {
		src := "package method\n\nimport \"batos\"\n\nfunc forged(self batos.Self, args []any) (any, error) {\n\t" + body + "\n}\n"
		_, err := guardian.Audit([]byte(src), "forged", guardian.Options{})
		assert.True(t, hasRule(err, guardian.RuleIdentReserved), "%s: got %v, want %s", name, err, guardian.RuleIdentReserved)
	}
}

// A host package imported under another name is reported once, by the
// import rule: the entry's signature is not also called wrong, nor is the
// model told to import batos (it did).
func TestHostImportedUnderAnotherName(t *testing.T) {
	for _, tc := range []struct{ imp, qual, rule string }{
		{`b "batos"`, "b.", guardian.RuleImportAlias},
		{`. "batos"`, "", guardian.RuleImportDot},
		{`_ "batos"`, "", guardian.RuleImportBlank},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			src := "package method\n\nimport " + tc.imp + "\n\nfunc m(self " + tc.qual + "Self, args []any) (any, error) {\n\treturn nil, nil\n}\n"
			_, err := guardian.Audit([]byte(src), "m", guardian.Options{})
			var rej *guardian.Rejection
			require.ErrorAs(t, err, &rej, "got %v, want a rejection", err)
			assert.True(t, rej.Has(tc.rule), "got %v, want %s", rej, tc.rule)
			assert.False(t, rej.Has(guardian.RuleEntrySignature), "got %v, want no %s next to %s", rej, guardian.RuleEntrySignature, tc.rule)
		})
	}
}
