package guardian

import (
	"bytes"
	"go/ast"
	"go/scanner"
	"go/token"
	"sort"
	"strconv"
	"strings"
)

// Repairs are the mechanical fixes the guardian makes to the model's
// source instead of sending it back: a package clause for a bare
// function, an import for a package that is used but not imported, and no
// import for one that is imported but not used. Each keeps every line
// where it was (imports are added on an existing line and removed
// leaving their line), so findings about the repaired source point at
// the lines the model wrote. They are listed in [Report.Repairs].

// barePackage is the package clause given to a bare function.
const barePackage = "package method; "

// wrapBare gives source that starts with a declaration (func, import,
// type, const or var, after comments) instead of a package clause the
// clause barePackage, at the start of line 1. It returns nil when
// the source has a package clause, or starts with something that is no
// declaration (the parse then says what).
func wrapBare(src []byte) ([]byte, *Finding) {
	fset := token.NewFileSet()
	file := fset.AddFile("", -1, len(src))
	var s scanner.Scanner
	s.Init(file, src, func(token.Position, string) {}, 0)
	_, tok, _ := s.Scan()
	switch tok {
	case token.FUNC, token.IMPORT, token.TYPE, token.CONST, token.VAR:
	default:
		return nil, nil
	}
	// The clause goes at the very start, on line 1: comments before the
	// declaration stay where they were and do not become the package's
	// doc comment (which gofmt would reformat on the next audit).
	out := make([]byte, 0, len(src)+len(barePackage))
	out = append(append(out, barePackage...), src...)
	return out, &Finding{
		Rule:    RulePackageMissing,
		Pos:     token.Position{Line: 1, Column: 1},
		Message: "added the package clause `package method`: a method is a whole Go file, with a package clause and imports",
	}
}

// importRepair is what repairImports found.
type importRepair struct {
	edits   []edit
	repairs []Finding
	missing map[string]bool // names left undefined, with a finding of their own
}

// repairImports finds the imports to add and to remove: a name the file
// uses without declaring it that only one allowed package bears is that
// package (sort.Ints without import "sort"); an import of an allowed
// package whose name the file never uses goes. A name that several allowed
// packages bear is a finding (import.missing) unless the members used
// tell which.
func (u *unit) repairImports() importRepair {
	var ir importRepair
	w, err := stdTypes()
	if err != nil {
		return ir
	}
	used := make(map[string]*ast.Ident, len(u.res.unresolved))
	for _, id := range u.res.unresolved {
		if used[id.Name] == nil {
			used[id.Name] = id
		}
	}
	imported := map[string]bool{}
	var drop []*ast.ImportSpec
	for _, spec := range u.file.Imports {
		path, err := strconv.Unquote(spec.Path.Value)
		if err != nil {
			continue
		}
		name := w.pkgName(path)
		if spec.Name != nil {
			name = spec.Name.Name
		}
		if name == "_" || name == "." {
			continue
		}
		imported[name] = true
		if used[name] == nil && (path == HostPackage || u.allowed(path)) {
			drop = append(drop, spec)
		}
	}
	var add []string
	addAt := map[string]token.Pos{}
	for _, id := range u.res.unresolved {
		name := id.Name
		if imported[name] || isPredeclared(name) || addAt[name].IsValid() || ir.missing[name] {
			continue
		}
		cands := u.packagesNamed(w, name)
		if len(cands) > 1 {
			cands = u.narrowByMembers(w, name, cands)
		}
		switch len(cands) {
		case 0:
			continue
		case 1:
			add = append(add, cands[0])
			addAt[name] = id.Pos()
			ir.repairs = append(ir.repairs, Finding{Rule: RuleImportMissing, Pos: u.position(id.Pos()),
				Message: "added import " + strconv.Quote(cands[0]) + ": " + name + " is used but was not imported"})
		default:
			if ir.missing == nil {
				ir.missing = map[string]bool{}
			}
			ir.missing[name] = true
			u.reject(RuleImportMissing, id.Pos(), "%s is used but not imported, and more than one allowed package is named %s: add the import you mean (%s)", name, name, quoteJoin(cands, " or "))
		}
	}
	for _, spec := range drop {
		ir.edits = append(ir.edits, u.dropImport(spec))
		p, _ := strconv.Unquote(spec.Path.Value)
		ir.repairs = append(ir.repairs, Finding{Rule: RuleImportUnused, Pos: u.position(spec.Pos()),
			Message: "removed import " + strconv.Quote(p) + ", which is not used"})
	}
	if len(add) > 0 {
		ir.edits = append(ir.edits, u.addImportsEdit(add))
	}
	return ir
}

// packagesNamed returns the allowed import paths (the host package
// included) whose package name is name, sorted.
func (u *unit) packagesNamed(w *typeWorld, name string) []string {
	if name == HostPackage {
		return []string{HostPackage}
	}
	var out []string
	for _, p := range u.opts.Imports {
		if w.pkgName(p) == name {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// narrowByMembers keeps the packages that declare every member the file
// selects from name (name.X).
func (u *unit) narrowByMembers(w *typeWorld, name string, cands []string) []string {
	var members []string
	ast.Inspect(u.file, func(n ast.Node) bool {
		if se, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := se.X.(*ast.Ident); ok && id.Name == name && u.obj(id) == nil {
				members = append(members, se.Sel.Name)
			}
		}
		return true
	})
	var out []string
	for _, p := range cands {
		pkg := w.pkgs[p]
		ok := true
		for _, m := range members {
			// A package without type information may declare anything.
			ok = ok && (pkg == nil || pkg.Scope().Lookup(m) != nil && ast.IsExported(m))
		}
		if ok {
			out = append(out, p)
		}
	}
	return out
}

// dropImport deletes an import spec: alone in its declaration, the
// declaration; in a group, the spec. Its line stays, empty.
func (u *unit) dropImport(spec *ast.ImportSpec) edit {
	from, to := spec.Pos(), spec.End()
	for _, d := range u.file.Decls {
		if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.IMPORT && !gd.Lparen.IsValid() && len(gd.Specs) == 1 && gd.Specs[0] == spec {
			from, to = gd.Pos(), gd.End()
		}
	}
	end := u.offset(to)
	// An explicit semicolon after it goes too: `import "fmt"; import "os"`
	// must not become `; import "os"`.
	i := end
	for i < len(u.src) && (u.src[i] == ' ' || u.src[i] == '\t') {
		i++
	}
	if i < len(u.src) && u.src[i] == ';' {
		end = i + 1
	}
	return edit{start: u.offset(from), end: end, seq: 1}
}

// addImportsEdit adds imports on an existing line: first in the first
// import group, else right after the package clause's name.
func (u *unit) addImportsEdit(paths []string) edit {
	for _, d := range u.file.Decls {
		if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.IMPORT && gd.Lparen.IsValid() && len(gd.Specs) > 0 {
			var b strings.Builder
			for _, p := range paths {
				b.WriteString(strconv.Quote(p) + "; ")
			}
			return edit{start: u.offset(gd.Specs[0].Pos()), end: u.offset(gd.Specs[0].Pos()), text: b.String()}
		}
	}
	var b strings.Builder
	for _, p := range paths {
		b.WriteString("; import " + strconv.Quote(p))
	}
	off := u.offset(u.file.Name.End())
	return edit{start: off, end: off, text: b.String()}
}

// teachBroken adds to the syntax errors of source that does not parse
// what else can be seen already, so that one round fixes it all: a
// missing entry function, and the allowed packages used without an
// import.
func (u *unit) teachBroken(f *ast.File, res resolution) {
	if f == nil || f.Name == nil {
		return
	}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == u.selector && fd.Recv == nil {
			return
		}
	}
	if !declaresFunc(u.src, u.selector) {
		u.reject(RuleEntryMissing, f.Name.Pos(), "no function named %s: the method must be a function `%s`", u.selector, u.entrySig())
	}
	w, err := stdTypes()
	if err != nil {
		return
	}
	imported := map[string]bool{}
	for _, spec := range f.Imports {
		if path, err := strconv.Unquote(spec.Path.Value); err == nil {
			name := w.pkgName(path)
			if spec.Name != nil {
				name = spec.Name.Name
			}
			imported[name] = true
		}
	}
	seen := map[string]bool{}
	for _, id := range res.unresolved {
		if imported[id.Name] || seen[id.Name] || isPredeclared(id.Name) {
			continue
		}
		seen[id.Name] = true
		if cands := u.packagesNamed(w, id.Name); len(cands) > 0 {
			u.reject(RuleImportMissing, id.Pos(), "%s is used but not imported: add import %s", id.Name, quoteJoin(cands, " or "))
		}
	}
}

// declaresFunc reports whether src holds "func name(" (spaces allowed).
func declaresFunc(src []byte, name string) bool {
	for rest := src; ; {
		i := bytes.Index(rest, []byte("func "))
		if i < 0 {
			return false
		}
		rest = rest[i+len("func "):]
		r := bytes.TrimLeft(rest, " \t")
		if bytes.HasPrefix(r, []byte(name)) && bytes.HasPrefix(bytes.TrimLeft(r[len(name):], " \t"), []byte("(")) {
			return true
		}
	}
}

func quoteJoin(paths []string, sep string) string {
	q := make([]string, len(paths))
	for i, p := range paths {
		q[i] = strconv.Quote(p)
	}
	return strings.Join(q, sep)
}
