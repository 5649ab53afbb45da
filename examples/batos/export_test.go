package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// export writes an object's methods as Go files; import brings edits
// back through validation, skips what is unchanged, and stops at the
// first file that fails, keeping those installed before it.
func TestExportImport(t *testing.T) {
	dir, c := newImage(t)
	out := filepath.Join(t.TempDir(), "methods")

	r := c.run("export", "genesis", out)
	require.Equal(t, exitOK, r.code, r.stderr)
	add, greet := filepath.Join(out, "add.go"), filepath.Join(out, "greet_the_architect.go")
	assert.Equal(t, add+"\n"+greet+"\n", r.stdout)
	src, err := os.ReadFile(add)
	require.NoError(t, err)
	for _, want := range []string{"// batos method export.", "selector: add", "version:  1 of 1", "author:   ALFRED", "args:     [2,40]", "return a + b, nil"} {
		assert.Contains(t, string(src), want)
	}
	r = c.run("export", "--json", "traits", t.TempDir())
	require.Equal(t, exitOK, r.code, r.stderr)
	var ev exportView
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &ev))
	assert.Equal(t, []string{}, ev.Files, "traits' clone is a primitive, not a method")
	r = c.run("export", "traits", t.TempDir())
	assert.Equal(t, "object 1 has no methods of its own: nothing exported\n", r.stdout)

	before := fingerprint(t, dir)
	r = c.run("import", "genesis", out)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "nothing to import: every method in "+out+" is object 3's current one\n", r.stdout)
	assert.Equal(t, before, fingerprint(t, dir), "importing what export wrote changes nothing")

	// An edit of add that passes, and one of the greeting that the
	// guardian refuses: add is installed, then the import stops.
	require.NoError(t, os.WriteFile(add, []byte(strings.Replace(string(src), "return a + b, nil", "sum := a + b\n\treturn sum, nil", 1)), 0o644))
	gsrc, err := os.ReadFile(greet)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(greet, []byte(strings.Replace(string(gsrc), "defer self.MarkChanged()\n", "", 1)), 0o644))
	r = c.run("import", "genesis", out, "--by", "ada")
	assert.Equal(t, exitFailed, r.code)
	assert.Equal(t, "installed add v2 on object 3 (by ada)\n", r.stdout)
	assert.Contains(t, r.stderr, "import greet_the_architect.go")
	assert.Contains(t, r.stderr, "the 1 method(s) installed before it stay")
	r = c.run("send", "genesis", "add", "2", "40")
	assert.Equal(t, "42\n", r.stdout)

	require.NoError(t, os.WriteFile(greet, gsrc, 0o644))
	r = c.run("import", "--json", "genesis", out, "--why", "nothing new")
	require.Equal(t, exitOK, r.code, r.stderr)
	var iv importView
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &iv))
	assert.Equal(t, []versionView{}, iv.Installed, "both files hold the current methods now")

	require.NoError(t, os.WriteFile(add, []byte("package arith\n\nfunc add(self batos.Self, args []any) (any, error) {\n\treturn 1\n}\n"), 0o644))
	r = c.run("import", "--json", "genesis", out)
	assert.Equal(t, exitFailed, r.code)
	var body map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &body))
	assert.Equal(t, kindInvalidSource, body["kind"])
	assert.NotContains(t, r.stderr, "installed before it stay")

	file := filepath.Join(t.TempDir(), "add.go")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	for _, tc := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"import from nowhere", []string{"import", "genesis", filepath.Join(out, "none")}, exitFailed, "no directory"},
		{"import from a file", []string{"import", "genesis", file}, exitUsage, "is not a directory"},
		{"export of nobody", []string{"export", "nobody", out}, exitFailed, `no root named "nobody"`},
		{"export without a directory", []string{"export", "genesis"}, exitUsage, "accepts 2 arg(s)"},
		{"export into a file", []string{"export", "genesis", file}, exitFailed, "not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.run(tc.args...)
			assert.Equal(t, tc.code, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			assert.Contains(t, r.stderr, tc.says)
		})
	}
}
