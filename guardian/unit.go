package guardian

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"strings"
)

// A unit is one audit in progress: the parsed source and everything the
// passes learn about it. It lives for one call of Audit.
type unit struct {
	opts     Options
	selector string
	src      []byte
	fset     *token.FileSet
	file     *ast.File
	tfile    *token.File
	res      resolution // the object each identifier denotes (see resolveFile)

	findings []Finding // broken rules
	notes    []Finding // rewrites performed
	edits    []edit    // text edits producing the output

	host      string            // local name of the host import; "" if not imported
	hostAlias map[string]bool   // other names the host package is imported under (rejected)
	hostDot   bool              // the host package is dot-imported (rejected)
	pkgNames  map[string]string // local name → path of the imports a selector may name
	pathNames map[string]string // path → local name
	entry     *ast.FuncDecl
	selfName  string // name of the entry's Self parameter in the output
	helpers   map[string]*ast.FuncDecl
	helperSeq []*ast.FuncDecl

	names     map[string]bool // every identifier spelled in the file (see collectNames)
	declared  map[string]bool // every name declared anywhere in the file
	namesDone bool
	funcFlds  int // 0 unknown, 1 no, 2 yes (see hasFuncFields)

	addImports []string // import paths rewrites need
	addFuncs   []string // helper functions rewrites append (source text)
	genNames   map[string]string
	genOrder   []string
	reported   map[string]bool

	fns      *fnIndex       // functions of the file, built by the analyses
	litSpans [][2]token.Pos // spans of function literals and &x expressions
	structs  []*ast.StructType
	writes   bool // the entry may write state

	repairs      []Finding       // repairs made before this unit was parsed
	missing      map[string]bool // names used without an import that a finding names
	world        *typeWorld      // what the type check imported
	typeErrs     []Finding       // the type check's errors (see mergeTypeErrors)
	typeErrLines map[int]bool    // lines holding a type error
}

func newUnit(src []byte, selector string, opts Options) *unit {
	return &unit{
		opts:      opts,
		selector:  selector,
		src:       src,
		fset:      token.NewFileSet(),
		pkgNames:  map[string]string{},
		pathNames: map[string]string{},
		helpers:   map[string]*ast.FuncDecl{},
		names:     make(map[string]bool, 64),
		declared:  make(map[string]bool, 32),
		reported:  map[string]bool{},
		genNames:  map[string]string{},
	}
}

// parse parses the source and resolves its names, reporting syntax errors
// as findings. It reports whether the audit can go on.
func (u *unit) parse() bool {
	f, err := parser.ParseFile(u.fset, "", u.src, parser.SkipObjectResolution)
	var res resolution
	if tf := u.fset.File(f.FileStart); tf != nil && len(f.Decls) > 0 {
		// Names are resolved even when the parse failed (go/parser did so
		// too), for a nesting too deep is one more syntax error.
		var ok bool
		var deep token.Pos
		if res, ok, deep = resolveFile(f, tf); !ok {
			list, _ := err.(scanner.ErrorList)
			list.Add(tf.Position(deep), scopeDepthMessage)
			list.Sort()
			err = list
		}
	}
	if err != nil {
		defer u.teachBroken(f, res)
		if list, ok := err.(scanner.ErrorList); ok {
			for _, e := range list {
				u.findings = append(u.findings, Finding{
					Rule:    RuleSourceParse,
					Pos:     token.Position{Line: e.Pos.Line, Column: e.Pos.Column, Offset: e.Pos.Offset},
					Message: "syntax error: " + e.Msg + " (the source must be one complete Go file: a package clause, imports, then declarations)",
				})
			}
		}
		if len(u.findings) == 0 {
			u.findings = append(u.findings, Finding{Rule: RuleSourceParse, Pos: token.Position{Line: 1, Column: 1}, Message: "syntax error: " + err.Error()})
		}
		return false
	}
	u.file = f
	u.res = res
	u.tfile = u.fset.File(f.Package)
	if u.tfile == nil {
		u.findings = append(u.findings, Finding{Rule: RuleSourceParse, Pos: token.Position{Line: 1, Column: 1}, Message: "syntax error: no package clause"})
		return false
	}
	return true
}

// spelled reports whether name is spelled anywhere in the file (as any
// identifier), or declared.
func (u *unit) spelled(name string) bool {
	u.collectNames()
	return u.names[name]
}

// isDeclared reports whether the file declares name in any scope.
func (u *unit) isDeclared(name string) bool {
	u.collectNames()
	return u.declared[name]
}

// collectNames fills names and declared on first use: only rewrites need
// them.
func (u *unit) collectNames() {
	if u.namesDone {
		return
	}
	u.namesDone = true
	ast.Inspect(u.file, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			u.names[id.Name] = true
			if o := u.obj(id); o != nil && o.kind != objLbl && o.pos() == id.Pos() {
				u.declared[id.Name] = true
			}
		}
		return true
	})
}

// audit runs every pass in order.
func (u *unit) audit() {
	u.checkImports()
	u.checkSyntax()
	u.checkDecls()
	u.typeCheck()
	u.fns = u.indexFuncs()
	u.instrumentAnalysis()
	u.compat()
	u.covenant()
	u.mergeTypeErrors()
}

// position converts a token.Pos of the audited source.
func (u *unit) position(p token.Pos) token.Position {
	if !p.IsValid() {
		return token.Position{Line: 1, Column: 1}
	}
	pos := u.fset.Position(p)
	pos.Filename = ""
	return pos
}

// offset converts a token.Pos to a byte offset in the source.
func (u *unit) offset(p token.Pos) int {
	return u.tfile.Offset(p)
}

// text returns the source text of a node.
func (u *unit) text(n ast.Node) string {
	return string(u.src[u.offset(n.Pos()):u.offset(n.End())])
}

// reject records a broken rule.
func (u *unit) reject(rule string, p token.Pos, format string, args ...any) {
	u.findings = append(u.findings, Finding{Rule: rule, Pos: u.position(p), Message: fmt.Sprintf(format, args...)})
}

// rejectOnce records a broken rule once per key.
func (u *unit) rejectOnce(key, rule string, p token.Pos, format string, args ...any) {
	if u.reported[key] {
		return
	}
	u.reported[key] = true
	u.reject(rule, p, format, args...)
}

// note records a rewrite.
func (u *unit) note(rule string, p token.Pos, format string, args ...any) {
	u.notes = append(u.notes, Finding{Rule: rule, Pos: u.position(p), Message: fmt.Sprintf(format, args...)})
}

// fresh returns a name spelled nowhere in the file, based on base, and
// reserves it.
func (u *unit) fresh(base string) string {
	name := base
	u.collectNames()
	for i := 1; u.names[name] || isPredeclared(name) || u.pkgNames[name] != ""; i++ {
		name = fmt.Sprintf("%s%d", base, i)
	}
	u.names[name] = true
	return name
}

// pkgOf returns the import path a selector's qualifier names, or "".
func (u *unit) pkgOf(e ast.Expr) string {
	id, ok := e.(*ast.Ident)
	if !ok || u.obj(id) != nil {
		return ""
	}
	if id.Name == u.host && u.host != "" {
		return HostPackage
	}
	return u.pkgNames[id.Name]
}

// isBuiltin reports whether e is the predeclared identifier name, not
// shadowed by the file.
func (u *unit) isBuiltin(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name && u.obj(id) == nil
}

func isPredeclared(name string) bool {
	switch name {
	case "any", "bool", "byte", "comparable", "complex64", "complex128", "error", "float32", "float64",
		"int", "int8", "int16", "int32", "int64", "rune", "string",
		"uint", "uint8", "uint16", "uint32", "uint64", "uintptr",
		"true", "false", "iota", "nil",
		"append", "cap", "clear", "close", "complex", "copy", "delete", "imag", "len", "make",
		"max", "min", "new", "panic", "print", "println", "real", "recover":
		return true
	}
	return false
}

// lastElem returns the default package name of an import path.
func lastElem(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[i+1:]
	}
	return path
}
