package live

import (
	"slices"

	"github.com/batos-dev/batos/guardian"
)

// guardianAudit returns the default AuditFunc: the guardian's audit with
// the given import allowlist (nil means the guardian's default).
func guardianAudit(imports []string) AuditFunc {
	opts := guardian.Options{Imports: imports}
	return func(src, selector string) (*guardian.Report, error) {
		return guardian.Audit([]byte(src), selector, opts)
	}
}

// sandboxImports is the allowlist the interpreter exports symbols for: the
// audit's allowlist plus unicode/utf8, which the guardian's rewrite of
// range-over-string loops imports.
func sandboxImports(imports []string) []string {
	if imports == nil {
		imports = guardian.DefaultImports()
	}
	out := slices.Clone(imports)
	if !slices.Contains(out, "unicode/utf8") {
		out = append(out, "unicode/utf8")
	}
	return out
}
