package guardian_test

import (
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/batos-dev/batos/guardian"
)

const tiny = `package method

import "batos"

func tiny(self batos.Self, args []any) (any, error) {
	return len(args), nil
}
`

func TestSelector(t *testing.T) {
	for _, sel := range []string{"", "1abc", "func", "_", "init", "main", "__x", "a-b", "a b", "ünïcode-"} {
		_, err := guardian.Audit([]byte(tiny), sel, guardian.Options{})
		if !errors.Is(err, guardian.ErrSelector) {
			t.Errorf("selector %q: got %v, want ErrSelector", sel, err)
		}
	}
	if _, err := guardian.Audit([]byte(tiny), "tiny", guardian.Options{}); err != nil {
		t.Fatalf("got %v, want nil", err)
	}
}

func TestDefaultImportsIsACopy(t *testing.T) {
	a := guardian.DefaultImports()
	a[0] = "os"
	b := guardian.DefaultImports()
	if b[0] == "os" {
		t.Fatal("DefaultImports returned shared state")
	}
	for _, p := range b {
		switch p {
		case "os", "os/exec", "syscall", "unsafe", "reflect", "runtime", "net", "io/fs", "plugin", "slices", "maps":
			t.Errorf("default allowlist holds %q", p)
		}
	}
	if !reflect.DeepEqual(guardian.DefaultOptions().Imports, b) {
		t.Error("DefaultOptions().Imports differs from DefaultImports()")
	}
}

func TestZeroOptionsAreDefaults(t *testing.T) {
	d := guardian.DefaultOptions()
	if d.MaxSourceBytes != 64<<10 || d.MaxFindings != 20 || d.SmallAlloc != 1024 || d.MaxArray != 1<<16 {
		t.Errorf("got %+v", d)
	}
	big := tiny + "\n// " + strings.Repeat("x", 64<<10) + "\n"
	_, err := guardian.Audit([]byte(big), "tiny", guardian.Options{})
	var rej *guardian.Rejection
	if !errors.As(err, &rej) || !rej.Has(guardian.RuleSourceSize) {
		t.Errorf("zero options: got %v, want %s", err, guardian.RuleSourceSize)
	}
	if _, err := guardian.Audit([]byte(big), "tiny", guardian.Options{MaxSourceBytes: 1 << 20}); err != nil {
		t.Errorf("raised limit: got %v, want nil", err)
	}
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
	var rej *guardian.Rejection
	if !errors.As(err, &rej) || !rej.Has(guardian.RuleImportForbidden) {
		t.Errorf("empty allowlist: got %v, want %s", err, guardian.RuleImportForbidden)
	}
	if _, err := guardian.Audit(src, "up", guardian.Options{Imports: []string{"strings"}}); err != nil {
		t.Errorf("strings allowed: got %v", err)
	}
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
	if !errors.As(err, &rej) {
		t.Fatalf("got %v", err)
	}
	if len(rej.Findings) != 20 || rej.Omitted != 10 {
		t.Errorf("got %d findings and %d omitted, want 20 and 10", len(rej.Findings), rej.Omitted)
	}
	if !strings.HasPrefix(rej.Error(), "guardian: method many rejected (30 findings)") || !strings.Contains(rej.Error(), "(10 more)") {
		t.Errorf("got error text %q", rej.Error())
	}
	for i := 1; i < len(rej.Findings); i++ {
		if rej.Findings[i].Pos.Line < rej.Findings[i-1].Pos.Line {
			t.Errorf("findings out of order: %v before %v", rej.Findings[i-1], rej.Findings[i])
		}
	}
}

func TestFindingString(t *testing.T) {
	f := guardian.Finding{Rule: guardian.RuleGoStatement, Pos: token.Position{Line: 3, Column: 2}, Message: "no"}
	if got, want := f.String(), "3:2: stmt.go: no"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestParseErrorPosition(t *testing.T) {
	_, err := guardian.Audit([]byte("package method\n\nfunc f( {\n"), "f", guardian.Options{})
	var rej *guardian.Rejection
	if !errors.As(err, &rej) || !rej.Has(guardian.RuleSourceParse) {
		t.Fatalf("got %v", err)
	}
	if p := rej.Findings[0].Pos; p.Line != 3 {
		t.Errorf("got position %v, want line 3", p)
	}
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
	if err != nil {
		t.Fatal(err)
	}
	if rep.Selector != "count" || rep.Package != "counting" || rep.Writes {
		t.Errorf("got %+v", rep)
	}
	if want := []string{"batos", "strings", "unicode/utf8"}; !reflect.DeepEqual(rep.Imports, want) {
		t.Errorf("got imports %v, want %v", rep.Imports, want)
	}
	if want := []string{"isVowel", "tag"}; !reflect.DeepEqual(rep.Helpers, want) {
		t.Errorf("got helpers %v, want %v", rep.Helpers, want)
	}
	if len(rep.Rewrites) != 1 || rep.Rewrites[0].Rule != guardian.RuleRangeString || rep.Rewrites[0].Pos.Line != 12 {
		t.Errorf("got rewrites %v", rep.Rewrites)
	}
	// The identifiers of the contract appear as documented.
	for _, want := range []string{
		guardian.MeterVar + " := " + guardian.HostPackage + "." + guardian.EnterFunc + "(self)",
		"defer " + guardian.MeterVar + "." + guardian.LeaveMethod + "()",
		"if " + guardian.MeterVar + "." + guardian.FuelField + "--; " + guardian.MeterVar + "." + guardian.FuelField + " < 0 {",
		guardian.MeterVar + "." + guardian.RefuelMethod + "()",
		"strings.Repeat(\"*\", " + guardian.MeterVar + "." + guardian.AllocMethod + "(n))",
	} {
		if !strings.Contains(string(rep.Source), want) {
			t.Errorf("instrumented source lacks %q:\n%s", want, rep.Source)
		}
	}
	// Leaf helpers keep their signatures: they cannot loop or recurse.
	if !strings.Contains(string(rep.Source), "func isVowel(c rune) bool") {
		t.Errorf("leaf helper changed:\n%s", rep.Source)
	}
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
				if got != want[i] {
					t.Errorf("%s: concurrent audit differs", tc.name)
				}
			}
		}()
	}
	wg.Wait()
}

// TestStdlibOnly keeps the package free of other packages of this module
// (and of any dependency): it must be fuzzable alone.
func TestStdlibOnly(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), file, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if first, _, _ := strings.Cut(p, "/"); strings.Contains(first, ".") {
				t.Errorf("%s imports %s: the guardian imports the standard library only", file, p)
			}
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
		var rej *guardian.Rejection
		if !errors.As(err, &rej) || !rej.Has(guardian.RuleIdentReserved) {
			t.Errorf("%s: got %v, want %s", name, err, guardian.RuleIdentReserved)
		}
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
			if !errors.As(err, &rej) {
				t.Fatalf("got %v, want a rejection", err)
			}
			if !rej.Has(tc.rule) {
				t.Errorf("got %v, want %s", rej, tc.rule)
			}
			if rej.Has(guardian.RuleEntrySignature) {
				t.Errorf("got %v, want no %s next to %s", rej, guardian.RuleEntrySignature, tc.rule)
			}
		})
	}
}
