package guardian

import (
	_ "embed" // the standard library's type information
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"sort"
	"strings"
	"sync"

	"golang.org/x/tools/go/gcexportdata"
)

// The type check runs go/types over the model's source (after the
// mechanical repairs, before any rewrite or instrumentation), so that only
// valid Go reaches the interpreter, which runs much that Go rejects (an
// int returned as a bool, a missing return, an assignment to a string
// index). It needs no Go toolchain at run time: the type information of
// the standard-library packages a method may import is embedded, and the
// host package is declared from source (hostSource).

//go:generate go run ./internal/gentypes -o stdtypes.bin

// stdTypesData is the export data of the standard-library packages that a
// method may import (see internal/gentypes), as one
// golang.org/x/tools/go/gcexportdata bundle.
//
//go:embed stdtypes.bin
var stdTypesData string

// typeGoVersion is the language version source is checked at: the
// interpreter follows Go 1.22 (with the gaps the rewrites fill), so a
// range over a function, for example, is refused with the version it
// needs.
const typeGoVersion = "go1.22"

// hostSource declares the host package as the runtime exports it to
// interpreted code: uvm.Self, uvm.Ref and uvm.OID, and the meter of
// uvm/live (which source may not use, but which exists). uvm/live tests
// that it matches the runtime's symbols.
const hostSource = `package batos

type OID uint64

type Ref struct{ OID OID }

type Self interface {
	OID() OID
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

func Enter(self Self) *Meter     { return &Meter{} }
func (m *Meter) Enter()          {}
func (m *Meter) Leave()          {}
func (m *Meter) Refuel()         {}
func (m *Meter) Alloc(n int) int { return n }
`

// HostSource returns the host package as the type check declares it: Go
// source for what the runtime exports to interpreted code under
// [HostPackage] (Self, Ref, OID, and the meter that only the
// instrumentation may use).
func HostSource() string { return hostSource }

// A typeWorld is what the type check imports: the embedded standard
// packages by path, the host package, and the paths of the standard
// packages by package name (for the import repair). It is built once per
// process and never changed afterwards; go/types lets any number of checks
// share imported packages at once.
type typeWorld struct {
	pkgs   map[string]*types.Package
	byName map[string][]string
	host   *types.Package
}

// stdTypes returns the process's typeWorld, reading the embedded data on
// first use (a few milliseconds).
var stdTypes = sync.OnceValues(loadTypeWorld)

func loadTypeWorld() (*typeWorld, error) {
	fset := token.NewFileSet()
	pkgs, err := gcexportdata.ReadBundle(strings.NewReader(stdTypesData), fset, map[string]*types.Package{})
	if err != nil {
		return nil, fmt.Errorf("reading the standard library's type information: %w", err)
	}
	w := &typeWorld{pkgs: make(map[string]*types.Package, len(pkgs)), byName: map[string][]string{}}
	for _, p := range pkgs {
		w.pkgs[p.Path()] = p
		w.byName[p.Name()] = append(w.byName[p.Name()], p.Path())
	}
	hf, err := parser.ParseFile(fset, "batos.go", hostSource, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	if w.host, err = (&types.Config{}).Check(HostPackage, fset, []*ast.File{hf}, nil); err != nil {
		return nil, fmt.Errorf("declaring the host package: %w", err)
	}
	return w, nil
}

// TypedPackages returns the import paths of the standard-library packages
// whose type information the guardian carries, sorted. A path on
// [Options.Imports] that is not among them is allowed, but the uses of its
// names are not type-checked.
func TypedPackages() []string {
	w, err := stdTypes()
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(w.pkgs))
	for p := range w.pkgs {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// pkgName returns the package name of an import path: the embedded
// package's name, or the path's last element.
func (w *typeWorld) pkgName(path string) string {
	if path == HostPackage {
		return HostPackage
	}
	if p := w.pkgs[path]; p != nil {
		return p.Name()
	}
	return lastElem(path)
}

var (
	errNotAllowed = errors.New("not on the allowlist")
	errNoTypes    = errors.New("no type information")
)

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

// typeCheck checks the file as a Go package. Its errors are kept in
// u.typeErrs, in go/types' words (which are gc's), and join the findings
// at the end of the audit (see mergeTypeErrors).
func (u *unit) typeCheck() {
	w, err := stdTypes()
	if err != nil {
		panic(err) // the embedded data is broken: ErrInternal
	}
	u.world = w
	conf := types.Config{
		GoVersion: typeGoVersion,
		Importer: importerFunc(func(path string) (*types.Package, error) {
			switch {
			case path == HostPackage:
				return w.host, nil
			case !u.allowed(path):
				return nil, errNotAllowed
			case w.pkgs[path] != nil:
				return w.pkgs[path], nil
			}
			return nil, errNoTypes
		}),
		Error: func(err error) {
			var te types.Error
			if !errors.As(err, &te) || u.onRefusedImport(te) {
				return
			}
			if name, ok := strings.CutPrefix(te.Msg, "undefined: "); ok && u.missing[name] {
				return // an import.missing finding says which import to add
			}
			pos := u.position(te.Pos)
			if u.typeErrLines == nil {
				u.typeErrLines = map[int]bool{}
			}
			u.typeErrLines[pos.Line] = true
			u.typeErrs = append(u.typeErrs, Finding{Rule: RuleTypes, Pos: pos, Message: u.typeMessage(te.Msg)})
		},
	}
	_, _ = conf.Check("method", u.fset, []*ast.File{u.file}, nil)
}

// onRefusedImport reports whether te is the failure to import a package
// that the guardian refuses itself (its finding says why) or that has no
// type information (its uses go unchecked).
func (u *unit) onRefusedImport(te types.Error) bool {
	if !strings.HasPrefix(te.Msg, "could not import ") {
		return false
	}
	for _, spec := range u.file.Imports {
		if spec.Pos() <= te.Pos && te.Pos < spec.End() {
			return true
		}
	}
	return false
}

// typeMessage adds what to do to go/types' message where Go's words alone
// leave it open.
func (u *unit) typeMessage(msg string) string {
	if name, ok := strings.CutPrefix(msg, "undefined: "); ok && token.IsIdentifier(name) {
		if path := knownPackage(name); path != "" && !u.allowed(path) {
			return fmt.Sprintf("%s (package %s is not available to methods%s; they may import only %s)", msg, path, forbiddenHint(path), u.allowText())
		}
	}
	return msg
}

// knownPackage returns the path of a standard package that models often
// use without importing, by its name, or "".
func knownPackage(name string) string {
	switch name {
	case "os", "reflect", "unsafe", "runtime", "syscall", "sync", "context", "io", "bufio", "log", "slices", "maps", "cmp", "iter", "net":
		return name
	case "filepath":
		return "path/filepath"
	case "ioutil":
		return "io/ioutil"
	case "exec":
		return "os/exec"
	case "http":
		return "net/http"
	case "atomic":
		return "sync/atomic"
	}
	return ""
}

// typeErrOn reports whether the type check found an error on the line of p.
func (u *unit) typeErrOn(p token.Pos) bool {
	return u.typeErrLines[u.position(p).Line]
}

// mergeTypeErrors adds the type errors to the findings, except where a
// rule of the guardian already reports a problem at the same place (its
// message says more).
func (u *unit) mergeTypeErrors() {
	if len(u.typeErrs) == 0 {
		return
	}
	at := make(map[[2]int]bool, len(u.findings))
	for _, f := range u.findings {
		at[[2]int{f.Pos.Line, f.Pos.Column}] = true
	}
	for _, f := range u.typeErrs {
		if !at[[2]int{f.Pos.Line, f.Pos.Column}] {
			u.findings = append(u.findings, f)
		}
	}
}
