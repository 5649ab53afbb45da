package persona

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
)

var goLangs = map[string]bool{"go": true, "golang": true}

// notGo are fence languages whose blocks are never taken for Go source.
var notGo = map[string]bool{
	"json": true, "jsonc": true, "text": true, "txt": true, "bash": true, "sh": true, "shell": true,
	"console": true, "python": true, "py": true, "javascript": true, "js": true, "yaml": true, "diff": true,
	"output": true, "markdown": true, "md": true,
}

// WrapPackage is the package clause [ExtractCodeFor] gives a bare function.
const WrapPackage = "method"

// ExtractCode finds the Go source in a model reply: a fenced block marked
// go or golang (preferring one with a package clause, then one with a
// func), else an unmarked block that looks like Go, else — with no fences
// at all — the text from the first line starting with "package" (or
// "import" or "func") to the last line starting with "}". Prose around the
// code, <think> blocks and chat-template tokens (<|im_end|>, <|eot_id|>,
// </s>, …) are dropped; indentation before the code is removed. Fences
// are read as models write them: a closing fence with text glued after
// it, and a lone closing fence after unfenced code, close the code.
//
// A reply with no code returns ErrNoCode. A Go block left open is taken
// when its code is complete (it parses as Go and declares a function);
// otherwise, like unfenced code that never closes its brace, it returns
// ErrTruncated. The code is returned with \n line endings and one final
// newline, as the reply wrote it: see [ExtractCodeFor] for a complete
// method file.
func ExtractCode(reply string) (string, error) { return extractCode(reply, "") }

// ExtractCodeFor is [ExtractCode] for the method of a selector. Of several
// Go blocks it takes the first that declares the selector's function with
// a body and parses (a reply often restates the question in a block of
// its own first), else the first that declares it at all, else as
// ExtractCode does. An open block is taken only if it declares the
// selector's function. And it returns a complete source file: code
// without a package clause (a bare function, say) gets
// "package method" (WrapPackage) and, if it names the host package
// ("batos.Self") without importing it, import "batos" — the shape
// docs/contract.md asks for. Imports of other packages are not repaired
// here.
func ExtractCodeFor(reply, selector string) (string, error) {
	code, err := extractCode(reply, selector)
	if err != nil {
		return "", err
	}
	return wrapFile(code), nil
}

func extractCode(reply, selector string) (string, error) {
	r := cleanReply(reply)
	bs := fences(r)
	var marked, unmarked []block
	for _, b := range bs {
		switch {
		case strings.TrimSpace(b.body) == "":
		case goLangs[b.lang]:
			marked = append(marked, b)
		case !notGo[b.lang] && looksLikeGo(b.body):
			unmarked = append(unmarked, b)
		}
	}
	for _, cands := range [][]block{marked, unmarked} {
		if len(cands) == 0 {
			continue
		}
		b := pickGo(cands, selector)
		if !b.closed && !completeGo(b.body, selector) {
			return "", fmt.Errorf("%w: the Go code block is never closed (%d bytes in it)", ErrTruncated, len(b.body))
		}
		return tidy(b.body), nil
	}
	if len(bs) > 0 {
		if b := bs[len(bs)-1]; !b.closed && strings.TrimSpace(b.body) != "" && (b.lang == "" || looksLikeGo(b.body)) {
			return "", fmt.Errorf("%w: a code block is never closed", ErrTruncated)
		}
	}
	return unfencedGo(r)
}

// pickGo chooses among candidate blocks: with a selector, the first that
// declares its function with a body and parses, then the first whose text
// declares it; then the first with a package clause, the first with a
// func, the first.
func pickGo(cands []block, selector string) block {
	if selector != "" {
		for _, b := range cands {
			if declaresFunc(b.body, selector) {
				return b
			}
		}
		for _, b := range cands {
			if funcLine(b.body, selector) >= 0 {
				return b
			}
		}
	}
	for _, want := range []func(string) bool{hasPackageClause, hasFunc} {
		for _, b := range cands {
			if want(b.body) {
				return b
			}
		}
	}
	return cands[0]
}

// parseGo parses src as a Go file, with a package clause put before it if
// it has none. It returns nil when src is not valid Go.
func parseGo(src string) *ast.File {
	if !hasPackageClause(src) {
		src = "package " + WrapPackage + "\n" + src
	}
	f, err := parser.ParseFile(token.NewFileSet(), "", src, parser.SkipObjectResolution)
	if err != nil {
		return nil
	}
	return f
}

// completeGo reports whether src is complete Go source: it parses and
// declares a function with a body (the selector's, if one is given).
func completeGo(src, selector string) bool {
	if selector != "" {
		return declaresFunc(src, selector)
	}
	if !hasFunc(src) {
		return false
	}
	f := parseGo(src)
	if f == nil {
		return false
	}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil {
			return true
		}
	}
	return false
}

// declaresFunc reports whether src parses and declares the function name
// (not a method) with a body.
func declaresFunc(src, name string) bool {
	if funcLine(src, name) < 0 {
		return false
	}
	f := parseGo(src)
	if f == nil {
		return false
	}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == name && fd.Body != nil {
			return true
		}
	}
	return false
}

// funcLine returns the offset of the first line declaring function name
// ("func name(", indentation allowed), or -1.
func funcLine(src, name string) int {
	for _, p := range []string{"func " + name + "(", "func " + name + " ("} {
		if i := lineStartIndex(src, p); i >= 0 {
			return i
		}
	}
	return -1
}

func looksLikeGo(s string) bool { return hasPackageClause(s) || hasFunc(s) }

func hasPackageClause(s string) bool { return lineStartIndex(s, "package ") >= 0 }

func hasFunc(s string) bool { return lineStartIndex(s, "func ") >= 0 }

// lineStartIndex returns the offset of the first line that starts with
// prefix after its indentation (spaces and tabs), or -1.
func lineStartIndex(s, prefix string) int {
	for off := 0; off < len(s); {
		if strings.HasPrefix(strings.TrimLeft(s[off:min(len(s), off+256)], " \t"), prefix) {
			return off
		}
		nl := strings.IndexByte(s[off:], '\n')
		if nl < 0 {
			break
		}
		off += nl + 1
	}
	return -1
}

// indentOf returns the indentation (spaces and tabs) that line starts with.
func indentOf(line string) string { return line[:len(line)-len(strings.TrimLeft(line, " \t"))] }

// tidy trims blank lines around code, removes the indentation of its
// first line (from every line, when all of them share it, as in an
// indented markdown block) and ends it with one newline.
func tidy(code string) string {
	code = strings.Trim(code, "\r\n")
	first, _, _ := strings.Cut(code, "\n")
	ind := indentOf(first)
	if ind == "" {
		return code + "\n"
	}
	lines := strings.SplitAfter(code, "\n")
	all := true
	for _, l := range lines {
		if strings.TrimSpace(l) != "" && !strings.HasPrefix(l, ind) {
			all = false
			break
		}
	}
	if !all {
		return code[len(ind):] + "\n"
	}
	var b strings.Builder
	b.Grow(len(code))
	for _, l := range lines {
		b.WriteString(strings.TrimPrefix(l, ind))
	}
	return b.String() + "\n"
}

// unfencedGo takes the code of a reply without fences: from the first line
// starting with package (else import or func), indentation allowed, to
// the last line starting with "}" or ")" no deeper than that first line.
func unfencedGo(r string) (string, error) {
	start := lineStartIndex(r, "package ")
	if start < 0 {
		for _, p := range []string{"import ", "import(", "func "} {
			if i := lineStartIndex(r, p); i >= 0 && (start < 0 || i < start) {
				start = i
			}
		}
	}
	if start < 0 {
		return "", fmt.Errorf("%w (%d bytes of prose)", ErrNoCode, len(r))
	}
	code := r[start:]
	first, _, _ := strings.Cut(code, "\n")
	depth := len(indentOf(first))
	end := -1
	for off := 0; off < len(code); {
		nl := strings.IndexByte(code[off:], '\n')
		line := code[off:]
		if nl >= 0 {
			line = code[off : off+nl]
		}
		if t := strings.TrimLeft(line, " \t"); len(line)-len(t) <= depth && (strings.HasPrefix(t, "}") || strings.HasPrefix(t, ")")) {
			end = off + len(line)
		}
		if nl < 0 {
			break
		}
		off += nl + 1
	}
	if end < 0 {
		if !hasFunc(code) {
			return "", fmt.Errorf("%w: a package clause but no function", ErrNoCode)
		}
		return "", fmt.Errorf("%w: the code never closes its last brace", ErrTruncated)
	}
	return tidy(strings.TrimRight(code[:end], " \t\r\n")), nil
}

// wrapFile makes code a complete method file: a package clause when it
// has none, and the host package's import when it names the host package
// without importing it.
func wrapFile(code string) string {
	if hasPackageClause(code) {
		return code
	}
	head := "package " + WrapPackage + "\n\n"
	if strings.Contains(code, hostPackage+".") && !strings.Contains(code, `"`+hostPackage+`"`) {
		head += `import "` + hostPackage + `"` + "\n\n"
	}
	return head + code
}

// hostPackage is the import path under which generated methods see the
// runtime (batos.Self): docs/contract.md.
const hostPackage = "batos"
