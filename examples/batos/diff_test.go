package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// diff shows two versions as a unified diff: by default the version
// before the current one against the current one.
func TestDiff(t *testing.T) {
	_, c := newImage(t)
	addVersions(t, c) // v1 a + b, v2 sum := a + b, v3 = v1

	r := c.run("diff", "genesis", "add")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, `--- add v2 (object 3)
+++ add v3 (object 3)
@@ -16,6 +16,5 @@
 	if !ok1 || !ok2 {
 		return nil, errors.New("add wants two integers")
 	}
-	sum := a + b
-	return sum, nil
+	return a + b, nil
 }
`, r.stdout)

	r = c.run("diff", "genesis", "add", "v1", "2")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "--- add v1 (object 3)\n+++ add v2 (object 3)\n")
	assert.Contains(t, r.stdout, "\n+\tsum := a + b\n")

	r = c.run("diff", "genesis", "add", "1") // against the current one, v3
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "add v1 and v3 on object 3 hold the same source\n", r.stdout)

	r = c.run("diff", "--json", "3", "add", "1", "2")
	require.Equal(t, exitOK, r.code, r.stderr)
	var d diffView
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &d))
	assert.Equal(t, diffView{Object: 3, Selector: "add", From: 1, To: 2, Diff: d.Diff}, d)
	assert.Contains(t, d.Diff, "+\tsum := a + b")
	r = c.run("diff", "--json", "3", "add", "1", "3")
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &d))
	assert.Empty(t, d.Diff, "equal sources")

	for _, tc := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"one version only", []string{"diff", "genesis", "greet_the_architect"}, exitFailed, "no version before v1"},
		{"no such version", []string{"diff", "genesis", "add", "1", "9"}, exitFailed, `"add" v9`},
		{"no such method", []string{"diff", "genesis", "subtract"}, exitFailed, "never had"},
		{"bad version", []string{"diff", "genesis", "add", "one"}, exitUsage, `version "one"`},
		{"version zero", []string{"diff", "genesis", "add", "1", "v0"}, exitUsage, `version "v0"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.run(append([]string{"--json"}, tc.args...)...)
			assert.Equal(t, tc.code, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			assert.Contains(t, r.stderr, tc.says)
			var body map[string]any
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &body))
			if tc.code == exitFailed {
				assert.Equal(t, "not_found", body["kind"])
			}
		})
	}
}
