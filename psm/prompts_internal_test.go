package psm

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The synthesis prompt lists the imports the audit allows: the default
// allowlist, hash packages included, or the host's own.
func TestSynthesisPromptListsTheAllowlist(t *testing.T) {
	mission := Mission{Selector: "checksum", Target: 1}
	var o Options
	p := synthesisPrompt(mission, "ALFRED", o.allowedImports(), nil, nil, "", "")
	for _, pkg := range []string{"crypto/sha256", "hash/fnv", "encoding/hex", "strings"} {
		require.Contains(t, p, pkg)
	}
	o.Live.Imports = []string{"strings"}
	p = synthesisPrompt(mission, "ALFRED", o.allowedImports(), nil, nil, "", "")
	require.Contains(t, p, "other imports only from: strings.")
	require.NotContains(t, p, "crypto/sha256")
}
