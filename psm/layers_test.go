package psm_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestImportsPointDown keeps the layering of ARCHITECTURE.md: uvm at the
// bottom, guardian alone, memory and persona on uvm, live on uvm and
// guardian, psm on top.
func TestImportsPointDown(t *testing.T) {
	const mod = "github.com/batos-dev/batos/"
	allowed := map[string][]string{
		"uvm":                 {},
		"guardian":            {},
		"uvm/live":            {"uvm", "guardian"},
		"memory":              {"uvm"},
		"persona":             {"uvm"},
		"persona/personatest": {"uvm", "persona"},
		"psm":                 {"uvm", "guardian", "uvm/live", "memory", "persona"},
	}
	for pkg, ok := range allowed {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", mod+pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			rel, ours := strings.CutPrefix(dep, mod)
			if !ours || rel == pkg {
				continue
			}
			if !slices.Contains(ok, rel) {
				t.Errorf("%s imports %s; allowed: %v", pkg, rel, ok)
			}
		}
	}
}
