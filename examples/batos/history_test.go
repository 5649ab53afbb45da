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

// addVersions gives genesis add (v1, written by a cycle) two more
// versions: v2, an edit ada imported, and v3, which reverts to v1.
func addVersions(t *testing.T, c *cli) {
	t.Helper()
	c.env["USER"] = "ada"
	dir := t.TempDir()
	r := c.run("export", "genesis", dir)
	require.Equal(t, exitOK, r.code, r.stderr)
	path := filepath.Join(dir, "add.go")
	src, err := os.ReadFile(path)
	require.NoError(t, err)
	edited := strings.Replace(string(src), "return a + b, nil", "sum := a + b\n\treturn sum, nil", 1)
	require.NotEqual(t, string(src), edited)
	require.NoError(t, os.WriteFile(path, []byte(edited), 0o644))
	r = c.run("import", "genesis", dir, "--why", "name the sum")
	require.Equal(t, exitOK, r.code, r.stderr)
	r = c.run("revert", "genesis", "add", "1", "--by", "grace")
	require.Equal(t, exitOK, r.code, r.stderr)
}

// history lists every version with who wrote it, which model, which
// cycle, who approved it, what it restores and why.
func TestHistory(t *testing.T) {
	_, c := newImage(t)
	addVersions(t, c)

	r := c.run("history", "genesis", "add")
	require.Equal(t, exitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 6, r.stdout)
	assert.Equal(t, "add on object 3: 3 version(s), v3 is current", lines[0])
	assert.Regexp(t, `^\s+VERSION\s+CREATED\s+AUTHOR\s+MODEL\s+CYCLE\s+APPROVED BY\s+RESTORES\s+WHY$`, lines[2])
	assert.Regexp(t, `^  v1\s.*\sALFRED\s+scripted:testdata/add\.jsonl\s+c\S+-1\s+-\s+-\s+object 3 did not understand "add"$`, lines[3])
	assert.Regexp(t, `^  v2\s.*\sada\s+-\s+-\s+-\s+-\s+name the sum$`, lines[4])
	assert.Regexp(t, `^\* v3\s.*\sgrace\s+-\s+-\s+-\s+v1\s+revert to v1$`, lines[5])

	r = c.run("history", "--json", "3", "add")
	require.Equal(t, exitOK, r.code, r.stderr)
	var h historyView
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &h))
	assert.Equal(t, 3, h.Current)
	require.Len(t, h.Versions, 3)
	v1, v2, v3 := h.Versions[0], h.Versions[1], h.Versions[2]
	assert.Equal(t, "ALFRED", v1.Author)
	assert.Equal(t, "scripted:testdata/add.jsonl", v1.Model)
	assert.NotEmpty(t, v1.CycleID)
	assert.Equal(t, []any{float64(2), float64(40)}, v1.Args, "the arguments it was validated with")
	assert.Contains(t, v1.Source, "return a + b, nil")
	assert.False(t, v1.Current)
	assert.Equal(t, "ada", v2.Author, "--by defaults to $USER")
	assert.Contains(t, v2.Source, "sum := a + b")
	assert.Empty(t, v2.CycleID)
	assert.Equal(t, 1, v3.Restores)
	assert.Equal(t, v1.Source, v3.Source)
	assert.True(t, v3.Current)

	r = c.run("history", "genesis", "greet_the_architect")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "greet_the_architect on object 3: 1 version(s), v1 is current")

	r = c.run("history", "--json", "genesis", "subtract")
	assert.Equal(t, exitFailed, r.code)
	assert.Contains(t, r.stderr, `object 3 never had a method "subtract"`)
	var body map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &body))
	assert.Equal(t, "not_found", body["kind"])
}
