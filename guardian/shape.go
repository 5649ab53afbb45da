package guardian

import (
	"go/ast"
	"go/token"
	"strconv"
	"strings"
)

// checkImports enforces the import rules and records the local names.
func (u *unit) checkImports() {
	if u.file.Name.Name == "main" {
		u.reject(RulePackageMain, u.file.Name.Pos(), "the package must not be main: a method is a library function; use any other package name, for example `package method`")
	}
	for _, spec := range u.file.Imports {
		path, err := strconv.Unquote(spec.Path.Value)
		name := ""
		if spec.Name != nil {
			name = spec.Name.Name
		}
		switch {
		case err != nil:
			u.reject(RuleImportForbidden, spec.Pos(), "malformed import path %s", spec.Path.Value)
			continue
		case path == "." || path == ".." || strings.HasPrefix(path, "./") || strings.HasPrefix(path, "../") || strings.HasPrefix(path, "/"):
			u.reject(RuleImportRelative, spec.Pos(), "relative import %q is not allowed: a method is a single file and may import only %s", path, u.allowText())
			continue
		case path == HostPackage:
			switch name {
			case "", HostPackage:
				u.host = HostPackage
			case ".":
				u.hostDot = true
				u.reject(RuleImportDot, spec.Pos(), "import the host package as plain %q, not with a dot; write batos.Self", HostPackage)
			case "_":
				u.reject(RuleImportBlank, spec.Pos(), "import the host package as plain %q, not blank", HostPackage)
			default:
				if u.hostAlias == nil {
					u.hostAlias = map[string]bool{}
				}
				u.hostAlias[name] = true
				u.reject(RuleImportAlias, spec.Pos(), "import the host package as plain %q, without the name %s, and refer to it as batos", HostPackage, name)
			}
			continue
		case !u.allowed(path):
			u.reject(RuleImportForbidden, spec.Pos(), "import %q is not allowed%s: a method may import only %s", path, forbiddenHint(path), u.allowText())
			continue
		}
		switch name {
		case ".":
			u.reject(RuleImportDot, spec.Pos(), "dot imports are not allowed: write import %q and qualify the names (%s.Name)", path, lastElem(path))
			continue
		case "_":
			u.reject(RuleImportBlank, spec.Pos(), "blank imports are not allowed (they only run initialisation code): remove import _ %q", path)
			continue
		case "":
			name = lastElem(path)
		}
		if name == HostPackage {
			u.reject(RuleIdentShadow, spec.Pos(), "do not import %q under the name %s: that name belongs to the host package", path, HostPackage)
			continue
		}
		u.pkgNames[name] = path
		if u.pathNames[path] == "" {
			u.pathNames[path] = name
		}
	}
}

// allowed reports whether the options allow importing path.
func (u *unit) allowed(path string) bool {
	for _, p := range u.opts.Imports {
		if p == path {
			return true
		}
	}
	return false
}

func forbiddenHint(path string) string {
	switch {
	case path == "slices" || path == "maps" || path == "cmp" || path == "iter":
		return " (generic packages are not supported by the interpreter; use sort.Slice, sort.Strings and plain loops)"
	case path == "os" || strings.HasPrefix(path, "os/") || path == "io/fs" || path == "io/ioutil" || path == "path/filepath":
		return " (a method has no access to files or processes; keep data in the object's slots with self.Get and self.Set)"
	case path == "net" || strings.HasPrefix(path, "net/"):
		return " (a method has no network access)"
	case path == "unsafe" || path == "reflect" || path == "runtime" || strings.HasPrefix(path, "runtime/") || path == "syscall" || path == "plugin" || path == "C":
		return " (it reaches below the runtime's safety checks)"
	case path == "sync" || strings.HasPrefix(path, "sync/") || path == "context":
		return " (a method runs on one goroutine and needs no synchronisation)"
	}
	return ""
}

// allowText lists the allowed imports for messages.
func (u *unit) allowText() string {
	var b strings.Builder
	for i, p := range u.opts.Imports {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p)
	}
	if b.Len() > 0 {
		b.WriteString(" and ")
	}
	b.WriteString(strconv.Quote(HostPackage))
	return b.String()
}

// checkDecls enforces the shape of the top-level declarations and finds
// the entry function and the helpers.
func (u *unit) checkDecls() {
	seen := map[string]bool{}
	var entries []*ast.FuncDecl
	declare := func(id *ast.Ident, what string) {
		if id.Name == "_" {
			return
		}
		if seen[id.Name] {
			u.reject(RuleDeclDuplicate, id.Pos(), "%s %s is declared twice at the top level: rename or remove one", what, id.Name)
		}
		seen[id.Name] = true
		if ast.IsExported(id.Name) && id.Name != u.selector {
			u.reject(RuleDeclExported, id.Pos(), "top-level %s %s must be unexported: rename it to %s", what, id.Name, unexport(id.Name))
		}
	}
	for _, d := range u.file.Decls {
		switch d := d.(type) {
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch spec := spec.(type) {
				case *ast.ValueSpec:
					for _, id := range spec.Names {
						if d.Tok == token.VAR {
							u.reject(RuleDeclVar, id.Pos(), "package-level variable %s is not allowed (methods keep no state outside their object): declare it inside the function, make it a const, or keep it in a slot with self.Get and self.Set", id.Name)
							continue
						}
						declare(id, "constant")
					}
				case *ast.TypeSpec:
					declare(spec.Name, "type")
				}
			}
		case *ast.FuncDecl:
			name := d.Name.Name
			if d.Recv != nil {
				u.reject(RuleDeclMethod, d.Pos(), "method %s is not allowed (no methods on package types): write a plain function that takes the value as its first parameter, and use sort.Slice instead of sort.Interface", name)
				continue
			}
			if d.Body == nil {
				u.reject(RuleDeclBody, d.Pos(), "function %s has no body: every function must be written out in Go", name)
			}
			if d.Type.TypeParams != nil {
				u.reject(RuleGeneric, d.Type.TypeParams.Pos(), "function %s has type parameters: generics are not supported by the interpreter (it mis-infers them); write the function for the concrete type you need", name)
			}
			switch name {
			case "init":
				u.reject(RuleDeclInit, d.Pos(), "func init is not allowed: a method has no package initialisation; do the work inside %s", u.selector)
				continue
			case "main":
				u.reject(RuleDeclMain, d.Pos(), "func main is not allowed: the method is the function %s", u.selector)
				continue
			case u.selector:
				entries = append(entries, d)
				seen[name] = true
				continue
			}
			declare(d.Name, "function")
			if d.Body != nil && u.helpers[name] == nil {
				u.helpers[name] = d
				u.helperSeq = append(u.helperSeq, d)
			}
		}
	}
	switch len(entries) {
	case 0:
		hint := ""
		for _, h := range u.helperSeq {
			if u.isEntrySignature(h.Type) {
				hint = "; function " + h.Name.Name + " has the entry signature: rename it to " + u.selector
				break
			}
		}
		u.reject(RuleEntryMissing, u.file.Name.Pos(), "no function named %s: the method must be a function `%s`%s", u.selector, u.entrySig(), hint)
		return
	case 1:
	default:
		u.reject(RuleEntryDuplicate, entries[1].Pos(), "function %s is declared more than once: keep one", u.selector)
	}
	u.entry = entries[0]
	u.checkEntry(u.entry)
}

func (u *unit) entrySig() string {
	return "func " + u.selector + "(self " + HostPackage + ".Self, args []any) (any, error)"
}

// checkEntry checks the entry's signature and names its Self parameter.
func (u *unit) checkEntry(d *ast.FuncDecl) {
	if !u.isEntrySignature(d.Type) {
		if u.host == "" && u.importsHost() {
			// Imported under another name: the import's own finding says
			// what to change; the signature follows from it.
			return
		}
		extra := ""
		if u.host == "" {
			extra = ", and the source must import \"" + HostPackage + "\""
		}
		u.reject(RuleEntrySignature, d.Type.Pos(), "the entry function must have exactly the signature `%s`%s", u.entrySig(), extra)
		return
	}
	f0 := d.Type.Params.List[0]
	switch {
	case len(f0.Names) == 1 && f0.Names[0].Name != "_":
		u.selfName = f0.Names[0].Name
		return
	case u.spelled("self") || u.isDeclared("self"):
		u.reject(RuleEntrySignature, f0.Pos(), "name the first parameter of %s (for example self): the runtime reaches the call through it", u.selector)
		return
	}
	u.selfName = "self"
	u.names["self"] = true
	if len(f0.Names) == 1 {
		u.replace(f0.Names[0], "self")
	} else {
		// Unnamed parameters: name both.
		u.insert(f0.Type.Pos(), 0, "self ")
		u.insert(d.Type.Params.List[1].Type.Pos(), 0, "_ ")
	}
	u.note(RuleEntrySignature, f0.Pos(), "named the Self parameter self (the instrumentation needs it)")
}

// importsHost reports whether the source imports the host package under
// any name (dot, blank or alias included).
func (u *unit) importsHost() bool {
	for _, spec := range u.file.Imports {
		if p, err := strconv.Unquote(spec.Path.Value); err == nil && p == HostPackage {
			return true
		}
	}
	return false
}

// isEntrySignature reports whether ft is func(batos.Self, []any) (any, error).
func (u *unit) isEntrySignature(ft *ast.FuncType) bool {
	if ft.TypeParams != nil || u.host == "" {
		return false
	}
	ps := flatFields(ft.Params)
	rs := flatFields(ft.Results)
	if len(ps) != 2 || len(rs) != 2 {
		return false
	}
	if _, ok := ps[1].(*ast.Ellipsis); ok {
		return false
	}
	return u.isHostType(ps[0], "Self") && u.isAnySlice(ps[1]) && u.isAny(rs[0]) && u.isBuiltin(rs[1], "error")
}

// flatFields lists the type of every parameter (a field with two names
// counts twice).
func flatFields(fl *ast.FieldList) []ast.Expr {
	if fl == nil {
		return nil
	}
	var out []ast.Expr
	for _, f := range fl.List {
		n := len(f.Names)
		if n == 0 {
			n = 1
		}
		for i := 0; i < n; i++ {
			out = append(out, f.Type)
		}
	}
	return out
}

func (u *unit) isHostType(e ast.Expr, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == name && u.pkgOf(sel.X) == HostPackage
}

func (u *unit) isAny(e ast.Expr) bool {
	if u.isBuiltin(e, "any") {
		return true
	}
	it, ok := e.(*ast.InterfaceType)
	return ok && (it.Methods == nil || len(it.Methods.List) == 0)
}

func (u *unit) isAnySlice(e ast.Expr) bool {
	at, ok := e.(*ast.ArrayType)
	return ok && at.Len == nil && u.isAny(at.Elt)
}

func unexport(name string) string {
	if name == "" {
		return name
	}
	return strings.ToLower(name[:1]) + name[1:]
}
