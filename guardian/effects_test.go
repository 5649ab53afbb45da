package guardian

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestEffectsCoverAllowlist checks that the covenant knows the effects of
// every package a method may import by default, and of the host package.
func TestEffectsCoverAllowlist(t *testing.T) {
	for _, path := range append(DefaultImports(), HostPackage) {
		_, ok := stdEffects(path)
		assert.True(t, ok, "package %q is allowed but has no entry in stdEffects", path)
	}
}
