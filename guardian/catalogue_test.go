package guardian_test

import (
	"bytes"
	"errors"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/batos-dev/batos/guardian"
)

// A case is one source of the catalogue in testdata. Its trailing comments
// state what the guardian must say:
//
//	// selector: tally                 the selector (default: the file name)
//	// verdict: pass                   or: reject rule.id [rule.id ...]
//	// rewrite: yaegi.rangeint         a rewrite the report must list
//	// writes: true                    Report.Writes
//	// want: text                      a line the instrumented source must contain
//	// max-source: 100                 Options.MaxSourceBytes
type testCase struct {
	name     string
	src      []byte
	selector string
	pass     bool
	rules    []string
	rewrites []string
	writes   string
	wants    []string
	opts     guardian.Options
}

func loadCatalogue(t testing.TB) []testCase {
	t.Helper()
	var files []string
	for _, pat := range []string{"testdata/*.go", "testdata/*.go.txt"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	var cases []testCase
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(file), ".txt"), ".go")
		tc := testCase{name: name, src: src, selector: name}
		verdict := false
		for _, line := range strings.Split(string(src), "\n") {
			key, val, ok := strings.Cut(strings.TrimPrefix(line, "// "), ": ")
			if !ok || !strings.HasPrefix(line, "// ") {
				continue
			}
			switch key {
			case "selector":
				tc.selector = val
			case "verdict":
				verdict = true
				fs := strings.Fields(val)
				tc.pass = len(fs) > 0 && fs[0] == "pass"
				if len(fs) > 1 {
					tc.rules = fs[1:]
				}
			case "rewrite":
				tc.rewrites = append(tc.rewrites, val)
			case "writes":
				tc.writes = val
			case "want":
				tc.wants = append(tc.wants, val)
			case "max-source":
				n, err := strconv.Atoi(val)
				if err != nil {
					t.Fatalf("%s: bad max-source %q", file, val)
				}
				tc.opts.MaxSourceBytes = n
			}
		}
		if !verdict {
			t.Fatalf("%s: no verdict comment", file)
		}
		if !tc.pass && len(tc.rules) == 0 {
			t.Fatalf("%s: a reject verdict must name the rule", file)
		}
		cases = append(cases, tc)
	}
	return cases
}

func TestCatalogue(t *testing.T) {
	cases := loadCatalogue(t)
	if len(cases) < 60 {
		t.Errorf("the catalogue has %d sources, want at least 60", len(cases))
	}
	pass := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := guardian.Audit(tc.src, tc.selector, tc.opts)
			if !tc.pass {
				var rej *guardian.Rejection
				if !errors.As(err, &rej) {
					t.Fatalf("got err %v, want a *Rejection with %v", err, tc.rules)
				}
				if !errors.Is(err, guardian.ErrRejected) {
					t.Errorf("errors.Is(err, ErrRejected) = false")
				}
				for _, rule := range tc.rules {
					if !rej.Has(rule) {
						t.Errorf("got findings\n%v\nwant rule %s", rej, rule)
					}
				}
				for _, f := range rej.Findings {
					if f.Pos.Line < 1 || f.Message == "" {
						t.Errorf("finding without position or message: %+v", f)
					}
				}
				return
			}
			pass++
			if err != nil {
				t.Fatalf("got %v, want the source accepted", err)
			}
			for _, r := range tc.rewrites {
				found := false
				for _, n := range rep.Rewrites {
					found = found || n.Rule == r
				}
				if !found {
					t.Errorf("got rewrites %v, want one with rule %s", rep.Rewrites, r)
				}
			}
			if tc.writes != "" && strconv.FormatBool(rep.Writes) != tc.writes {
				t.Errorf("got Writes %v, want %s", rep.Writes, tc.writes)
			}
			for _, w := range tc.wants {
				if !containsLine(rep.Source, w) {
					t.Errorf("instrumented source lacks %q:\n%s", w, rep.Source)
				}
			}
			checkOutput(t, rep, tc.selector)
		})
	}
}

// containsLine reports whether some line of src, trimmed, contains want.
func containsLine(src []byte, want string) bool {
	for _, line := range strings.Split(string(src), "\n") {
		if strings.Contains(strings.TrimSpace(line), want) {
			return true
		}
	}
	return false
}

// checkOutput checks what every accepted source must satisfy: the output
// audits to itself, and type-checks as Go against the host package.
func checkOutput(t *testing.T, rep *guardian.Report, selector string) {
	t.Helper()
	again, err := guardian.Audit(rep.Source, selector, guardian.Options{})
	if err != nil {
		t.Fatalf("instrumented source rejected on a second audit: %v\n%s", err, rep.Source)
	}
	if !bytes.Equal(again.Source, rep.Source) {
		t.Fatalf("second audit changed the source:\n--- first\n%s\n--- second\n%s", rep.Source, again.Source)
	}
	if err := typeCheck(rep.Source); err != nil {
		t.Fatalf("instrumented source does not type-check: %v\n%s", err, rep.Source)
	}
}

// hostSource declares the host package as the runtime exports it to
// interpreted code (uvm.Self, uvm.Ref, and the meter of uvm/live).
const hostSource = `package batos

type OID uint64

type Ref struct{ OID OID }

type Self interface {
	OID() uint64
	Get(slot string) any
	Has(slot string) bool
	Set(slot string, value any) error
	Delete(slot string) error
	Send(selector string, args ...any) (any, error)
	MarkChanged()
}

type Meter struct {
	Fuel int
	b    *int
}

func Enter(self Self) *Meter    { return &Meter{} }
func (m *Meter) Enter()          {}
func (m *Meter) Leave()          {}
func (m *Meter) Refuel()         {}
func (m *Meter) Alloc(n int) int { return n }
`

var (
	importerOnce sync.Once
	testImporter types.Importer
	importerErr  error
)

type hostImporter struct {
	std  types.Importer
	host *types.Package
	mu   sync.Mutex
}

func (h *hostImporter) Import(path string) (*types.Package, error) {
	if path == guardian.HostPackage {
		return h.host, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.std.Import(path)
}

func sharedImporter() (types.Importer, error) {
	importerOnce.Do(func() {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, "batos.go", hostSource, 0)
		if err != nil {
			importerErr = err
			return
		}
		host, err := (&types.Config{}).Check(guardian.HostPackage, fset, []*ast.File{f}, nil)
		if err != nil {
			importerErr = err
			return
		}
		testImporter = &hostImporter{std: importer.ForCompiler(token.NewFileSet(), "source", nil), host: host}
	})
	return testImporter, importerErr
}

// typeCheck type-checks instrumented source as a Go package.
func typeCheck(src []byte) error {
	imp, err := sharedImporter()
	if err != nil {
		return err
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "method.go", src, 0)
	if err != nil {
		return err
	}
	conf := types.Config{Importer: imp, GoVersion: "go1.20"}
	_, err = conf.Check("method", fset, []*ast.File{f}, nil)
	return err
}
