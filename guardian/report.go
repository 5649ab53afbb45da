package guardian

import (
	"fmt"
	"go/ast"
	"go/format"
	"go/token"
	"sort"
	"strconv"
)

// report instruments accepted source and describes it.
func (u *unit) report() (*Report, error) {
	u.instrument()
	if len(u.findings) > 0 {
		return nil, u.rejection()
	}
	u.importEdits()
	out, err := applyEdits(u.src, u.edits)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInternal, err)
	}
	for _, h := range u.addFuncs {
		out = append(out, "\n"...)
		out = append(out, h...)
	}
	formatted, err := format.Source(out)
	if err != nil {
		return nil, fmt.Errorf("%w: instrumented source does not parse: %v", ErrInternal, err)
	}
	rep := &Report{
		Selector: u.selector,
		Package:  u.file.Name.Name,
		Source:   formatted,
		Writes:   u.writes,
		Rewrites: u.notes,
		Repairs:  u.repairs,
	}
	seen := map[string]bool{}
	for _, imp := range u.file.Imports {
		if p, err := strconv.Unquote(imp.Path.Value); err == nil && !seen[p] {
			seen[p] = true
			rep.Imports = append(rep.Imports, p)
		}
	}
	for _, p := range u.addImports {
		if !seen[p] {
			seen[p] = true
			rep.Imports = append(rep.Imports, p)
		}
	}
	sort.Strings(rep.Imports)
	for _, h := range u.helperSeq {
		rep.Helpers = append(rep.Helpers, h.Name.Name)
	}
	rep.Helpers = append(rep.Helpers, u.genOrder...)
	return rep, nil
}

// importEdits adds the imports rewrites need.
func (u *unit) importEdits() {
	if len(u.addImports) == 0 {
		return
	}
	var last *ast.GenDecl
	for _, d := range u.file.Decls {
		if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.IMPORT {
			last = gd
		}
	}
	switch {
	case last != nil && last.Lparen.IsValid() && len(last.Specs) > 0:
		// Before the first import of the group: gofmt sorts it into place.
		text := ""
		for _, p := range u.addImports {
			text += strconv.Quote(p) + "\n"
		}
		u.insertAt(u.offset(last.Specs[0].Pos()), 0, text)
	case last != nil:
		text := ""
		for _, p := range u.addImports {
			text += "\nimport " + strconv.Quote(p)
		}
		u.insertAt(u.offset(last.End()), 0, text)
	default:
		text := "\n"
		for _, p := range u.addImports {
			text += "\nimport " + strconv.Quote(p)
		}
		u.insertAt(u.offset(u.file.Name.End()), 0, text)
	}
}
