package psm_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// layers says which of the project's packages each layer may import; a
// package inside a layer's folder (persona/adapter, uvm/live/…) belongs to
// it. Imports only point down: uvm at the bottom, guardian alone, memory
// and persona on uvm, uvm/live on uvm and guardian, psm on top. A test
// helper package (a folder ending in "test") may also import the layer it
// serves.
var layers = []struct {
	prefix  string
	imports []string
}{
	{"uvm/live", []string{"uvm", "guardian"}},
	{"uvm", nil},
	{"guardian", nil},
	{"memory", []string{"uvm"}},
	{"persona", []string{"uvm"}},
	{"psm", []string{"uvm", "uvm/live", "guardian", "memory", "persona"}},
}

// TestImportsPointDown keeps the layering the README describes.
func TestImportsPointDown(t *testing.T) {
	const mod = "github.com/batos-dev/batos/"
	out, err := exec.Command("go", "list", "-deps", "-test=false", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", mod+"...").Output()
	require.NoError(t, err, "go list")
	layerOf := func(rel string) string {
		for _, l := range layers {
			if rel == l.prefix || strings.HasPrefix(rel, l.prefix+"/") {
				return l.prefix
			}
		}
		return ""
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, ours := strings.CutPrefix(fields[0], mod)
		if !ours || strings.HasPrefix(pkg, "examples/") {
			continue
		}
		layer := layerOf(pkg)
		require.NotEmpty(t, layer, "package %s belongs to no layer: add it to layers", pkg)
		checked++
		var allowed []string
		for _, l := range layers {
			if l.prefix == layer {
				allowed = l.imports
			}
		}
		for _, dep := range fields[1:] {
			rel, ours := strings.CutPrefix(dep, mod)
			if !ours {
				continue
			}
			target := layerOf(rel)
			if target == layer || slices.Contains(allowed, target) {
				continue
			}
			if strings.HasSuffix(pkg, "test") && strings.HasPrefix(pkg, target) {
				continue // a test helper package may import the layer it serves
			}
			assert.Failf(t, "import points up or sideways", "%s (layer %s) imports %s (layer %s); %s may import %v", pkg, layer, rel, target, layer, allowed)
		}
	}
	require.Greater(t, checked, 6, "too few packages checked: is the module path right?")
}
