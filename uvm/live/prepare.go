package live

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"strconv"
	"strings"

	"github.com/traefik/yaegi/interp"

	"github.com/batos-dev/batos/uvm/live/batos"
)

// prepared is audited, instrumented source ready for an interpreter: its
// package clause renamed so that every method version has a package of its
// own (imports of two sources never collide).
type prepared struct {
	Key      string // hex SHA-256 of selector and instrumented source
	Pkg      string // the package name given to the source
	Source   string // the renamed source
	Selector string // the entry function
	Orig     string // the source as submitted, for error positions
}

// prepare checks instrumented source with the runtime's own rules and
// renames its package. The runtime's rules are a second line behind the
// guardian: whatever an audit misses, the runtime never compiles a go
// statement, a channel operation, a select, package-level variables or an
// init function, and never resolves a relative import. check=false skips
// them (internal tests only).
func prepare(src, selector string, version int, check bool) (prepared, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "method.go", src, parser.SkipObjectResolution)
	if err != nil {
		return prepared{}, compileErrorFrom(selector, version, err)
	}
	refuse := func(n ast.Node, format string, args ...any) error {
		p := fset.Position(n.Pos())
		return &CompileError{Selector: selector, Version: version, Line: p.Line, Col: p.Column, Msg: fmt.Sprintf(format, args...), refused: true}
	}
	if f.Name.Name == "main" {
		return prepared{}, refuse(f.Name, "package main is not allowed; name the package after the method")
	}
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		if p == "" || strings.HasPrefix(p, ".") || strings.HasPrefix(p, "/") || strings.Contains(p, "..") {
			return prepared{}, refuse(imp, "import %s is not a standard-library path", imp.Path.Value)
		}
		if refusedPackage(p) {
			return prepared{}, refuse(imp, "import %q is never available to methods", p)
		}
	}
	var entry *ast.FuncDecl
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.GenDecl:
			if check && d.Tok == token.VAR {
				return prepared{}, refuse(d, "package-level variables are not allowed")
			}
		case *ast.FuncDecl:
			if d.Recv == nil && d.Name.Name == selector {
				entry = d
			}
			if check && d.Recv == nil && d.Name.Name == "init" {
				return prepared{}, refuse(d, "init functions are not allowed")
			}
		}
	}
	if entry == nil {
		return prepared{}, &CompileError{Selector: selector, Version: version, Msg: fmt.Sprintf("no function named %s (the entry function is named after the selector)", selector)}
	}
	if check {
		var bad error
		ast.Inspect(f, func(n ast.Node) bool {
			if bad != nil {
				return false
			}
			switch x := n.(type) {
			case *ast.GoStmt:
				bad = refuse(x, "go statements are not allowed")
			case *ast.SelectStmt:
				bad = refuse(x, "select statements are not allowed")
			case *ast.SendStmt:
				bad = refuse(x, "channel sends are not allowed")
			case *ast.ChanType:
				bad = refuse(x, "channels are not allowed")
			case *ast.UnaryExpr:
				if x.Op == token.ARROW {
					bad = refuse(x, "channel receives are not allowed")
				}
			}
			return bad == nil
		})
		if bad != nil {
			return prepared{}, bad
		}
	}
	sum := sha256.Sum256([]byte(selector + "\x00" + src))
	key := hex.EncodeToString(sum[:])
	pkg := "m" + key[:20]
	off := fset.Position(f.Name.Pos()).Offset
	renamed := src[:off] + pkg + src[off+len(f.Name.Name):]
	return prepared{Key: key, Pkg: pkg, Source: renamed, Selector: selector}, nil
}

// remap moves a compile error's position from the instrumented source to
// the source as submitted, by finding the offending line's text there.
// When the line was written by the instrumentation (or is ambiguous), the
// error quotes the line instead.
func remap(err error, p prepared) error {
	var ce *CompileError
	if !errors.As(err, &ce) || ce.Line <= 0 || p.Orig == "" {
		return err
	}
	inst := strings.Split(p.Source, "\n")
	if ce.Line > len(inst) {
		return err
	}
	line := inst[ce.Line-1]
	text := strings.TrimSpace(line)
	best := 0
	for i, l := range strings.Split(p.Orig, "\n") {
		if strings.TrimSpace(l) == text && (best == 0 || abs(i+1-ce.Line) < abs(best-ce.Line)) {
			best = i + 1
			if ce.Col > 0 {
				ce.Col += (len(l) - len(strings.TrimLeft(l, " \t"))) - (len(line) - len(strings.TrimLeft(line, " \t")))
			}
		}
	}
	c := *ce
	if best == 0 {
		c.Line, c.Col = 0, 0
		c.Msg += fmt.Sprintf(" (in %q)", clip(text, 200))
	} else {
		c.Line = best
	}
	return &c
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// checkHostUse refuses source that names parts of the host package other
// than Self, Ref and OID: the meter and batos.Enter belong to the
// instrumentation, and a method that could reach its own meter could refill
// it.
func checkHostUse(src, selector string) error {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "method.go", src, parser.SkipObjectResolution)
	if err != nil {
		// A bare function (no package clause) is the audit's to wrap,
		// and source that does not parse the audit's to refuse, with all
		// its findings at once.
		if f, err = parser.ParseFile(fset, "method.go", "package method; "+src, parser.SkipObjectResolution); err != nil {
			return nil
		}
	}
	// Source that does not import the host package gets the import from
	// the audit's repair, under the package's own name.
	host := HostPackage
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == HostPackage && imp.Name != nil {
			host = imp.Name.Name
		}
	}
	var bad error
	ast.Inspect(f, func(n ast.Node) bool {
		if bad != nil {
			return false
		}
		if id, ok := n.(*ast.Ident); ok && strings.HasPrefix(id.Name, "__") {
			p := fset.Position(id.Pos())
			bad = &CompileError{Selector: selector, Line: p.Line, Col: p.Column, Msg: fmt.Sprintf("identifier %s is reserved for the instrumentation", id.Name), refused: true}
			return false
		}
		se, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if x, ok := se.X.(*ast.Ident); ok && x.Name == host {
			switch se.Sel.Name {
			case "Self", "Ref", "OID":
			default:
				p := fset.Position(se.Pos())
				bad = &CompileError{Selector: selector, Line: p.Line, Col: p.Column, Msg: fmt.Sprintf("%s.%s is reserved for the instrumentation; methods use %s.Self, %s.Ref and %s.OID only", host, se.Sel.Name, host, host, host), refused: true}
			}
		}
		return true
	})
	return bad
}

// compileErrorFrom turns a parser or interpreter error into a *CompileError
// with a position in the submitted source and no host file paths.
func compileErrorFrom(sel string, version int, err error) *CompileError {
	ce := &CompileError{Selector: sel, Version: version}
	var list scanner.ErrorList
	switch e := err.(type) {
	case scanner.ErrorList:
		list = e
	case *scanner.Error:
		list = scanner.ErrorList{e}
	}
	if len(list) > 0 {
		ce.Line, ce.Col, ce.Msg = list[0].Pos.Line, list[0].Pos.Column, batos.Names(list[0].Msg)
		if len(list) > 1 {
			ce.Msg += fmt.Sprintf(" (and %d more errors)", len(list)-1)
		}
		return ce
	}
	var p interp.Panic
	if errors.As(err, &p) {
		ce.Msg = "the interpreter panicked: " + batos.Names(describePanic(p.Value))
		return ce
	}
	msg, _ := errorText(err)
	// Yaegi reports "file:line:col: message" or "line:col: message".
	parts := strings.SplitN(msg, ": ", 2)
	if len(parts) == 2 {
		pos := strings.Split(parts[0], ":")
		if n := len(pos); n >= 2 {
			l, err1 := strconv.Atoi(pos[n-2])
			c, err2 := strconv.Atoi(pos[n-1])
			if err1 == nil && err2 == nil {
				ce.Line, ce.Col, msg = l, c, parts[1]
			}
		}
	}
	ce.Msg = clip(batos.Names(msg), 2048)
	return ce
}
