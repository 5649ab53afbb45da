package guardian_test

import (
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

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
		require.NoError(t, err)
		files = append(files, m...)
	}
	var cases []testCase
	for _, file := range files {
		src, err := os.ReadFile(file)
		require.NoError(t, err)
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
				require.NoError(t, err, "%s: bad max-source %q", file, val)
				tc.opts.MaxSourceBytes = n
			}
		}
		require.True(t, verdict, "%s: no verdict comment", file)
		require.True(t, tc.pass || len(tc.rules) > 0, "%s: a reject verdict must name the rule", file)
		cases = append(cases, tc)
	}
	return cases
}

func TestCatalogue(t *testing.T) {
	cases := loadCatalogue(t)
	assert.GreaterOrEqual(t, len(cases), 60, "the catalogue has %d sources, want at least 60", len(cases))
	pass := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := guardian.Audit(tc.src, tc.selector, tc.opts)
			if !tc.pass {
				var rej *guardian.Rejection
				require.ErrorAs(t, err, &rej, "got err %v, want a *Rejection with %v", err, tc.rules)
				assert.ErrorIs(t, err, guardian.ErrRejected)
				for _, rule := range tc.rules {
					assert.True(t, rej.Has(rule), "got findings\n%v\nwant rule %s", rej, rule)
				}
				for _, f := range rej.Findings {
					assert.True(t, f.Pos.Line >= 1 && f.Message != "", "finding without position or message: %+v", f)
				}
				return
			}
			pass++
			require.NoError(t, err, "want the source accepted")
			for _, r := range tc.rewrites {
				found := false
				for _, n := range rep.Rewrites {
					found = found || n.Rule == r
				}
				assert.True(t, found, "got rewrites %v, want one with rule %s", rep.Rewrites, r)
			}
			if tc.writes != "" {
				assert.Equal(t, tc.writes, strconv.FormatBool(rep.Writes), "Writes")
			}
			for _, w := range tc.wants {
				assert.True(t, containsLine(rep.Source, w), "instrumented source lacks %q:\n%s", w, rep.Source)
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
	require.NoError(t, err, "instrumented source rejected on a second audit:\n%s", rep.Source)
	require.Equal(t, string(rep.Source), string(again.Source), "second audit changed the source")
	require.NoError(t, typeCheck(rep.Source), "instrumented source does not type-check:\n%s", rep.Source)
}

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
		f, err := parser.ParseFile(fset, "batos.go", guardian.HostSource(), 0) // the declaration the guardian checks against, which uvm/live tests against the runtime
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
