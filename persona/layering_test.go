package persona_test

import (
	"go/build"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Imports point down: persona uses uvm and nothing else of the project
// (not its adapter package either); adapter uses persona and uvm;
// personatest uses persona.
func TestImportsPointDown(t *testing.T) {
	for dir, allowed := range map[string][]string{".": {"uvm"}, "adapter": {"persona", "uvm"}, "personatest": {"persona"}} {
		pkg, err := build.ImportDir(dir, 0)
		require.NoError(t, err)
		for _, imp := range pkg.Imports {
			rest, ok := strings.CutPrefix(imp, "github.com/batos-dev/batos/")
			if ok {
				assert.Contains(t, allowed, rest, "%s imports %s", pkg.ImportPath, imp)
			}
		}
	}
}
