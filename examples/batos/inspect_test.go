package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batos-dev/batos/examples/batos/internal/imageview"
	"github.com/batos-dev/batos/examples/batos/internal/kernel"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newImage awakens an image in which a cycle wrote genesis add (and the
// greeting, whose first attempt was rejected).
func newImage(t *testing.T) (dir string, c *cli) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "img")
	c = newCLI(map[string]string{envImage: dir})
	r := c.run("send", "--model", "scripted:testdata/add.jsonl", "genesis", "add", "2", "40")
	require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	require.Equal(t, exitOK, c.run("send", "genesis", "greet_the_architect").code)
	return dir, c
}

// inspect shows the roots and counts, an object, and a method's versions
// with source, as text and as JSON.
func TestInspect(t *testing.T) {
	dir, c := newImage(t)
	im, err := uvm.Open(dir, uvm.Options{})
	require.NoError(t, err)
	require.NoError(t, im.Update(context.Background(), func(tx *uvm.Tx) error {
		g, err := tx.Root(psm.RootGenesis)
		if err != nil {
			return err
		}
		if err := g.Set("note", strings.Repeat("long ", 100)); err != nil {
			return err
		}
		return g.Set("friend", uvm.Ref{OID: 1})
	}))
	require.NoError(t, im.Close())

	r := c.run("inspect")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "2 cycles recorded")
	assert.Regexp(t, `(?m)^genesis\s+3\s+\d+\s+2$`, r.stdout)
	assert.Regexp(t, `(?m)^traits\s+1\s`, r.stdout)

	r = c.run("inspect", "genesis")
	require.Equal(t, exitOK, r.code, r.stderr)
	for _, want := range []string{"object 3 (genesis)", "parents: 2 (pLLM), 1 (traits)", "friend", "→ 1 (traits)", "note", "…", "add", "v1 (1 version)", "ALFRED", "greet_the_architect"} {
		assert.Contains(t, r.stdout, want)
	}

	r = c.run("inspect", "3", "add")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "add on object 3: v1 is current, 1 version(s) kept")
	assert.Contains(t, r.stdout, "func add(self batos.Self, args []any) (any, error)")

	r = c.run("inspect", "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var sum imageview.Summary
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &sum))
	assert.Equal(t, 2, sum.Cycles)
	r = c.run("inspect", "--json", "genesis")
	var obj imageview.Object
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &obj))
	assert.Equal(t, uvm.OID(3), obj.OID)
	require.Len(t, obj.Methods, 2)
	assert.Equal(t, "add", obj.Methods[0].Selector)
	r = c.run("inspect", "--json", "genesis", "add")
	var mv kernel.MethodVersions
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &mv))
	assert.Equal(t, 1, mv.Current)
	require.Len(t, mv.Versions, 1)
	assert.Contains(t, mv.Versions[0].Source, "return a + b, nil")
}

// log lists the cycles newest first and shows one record.
func TestLog(t *testing.T) {
	_, c := newImage(t)
	r := c.run("log")
	require.Equal(t, exitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 3, r.stdout)
	assert.Contains(t, lines[1], "greet_the_architect")
	assert.Contains(t, lines[1], "COMPLETE v1")
	assert.Contains(t, lines[2], "add")

	r = c.run("log", "-n", "1")
	assert.Contains(t, r.stdout, "(1 of 2 cycles; --limit 0 lists all)")

	r = c.run("log", "--json", "--limit", "0")
	var page imageview.CyclePage
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &page))
	require.Len(t, page.Cycles, 2)
	id := page.Cycles[0].ID

	r = c.run("log", id)
	require.Equal(t, exitOK, r.code, r.stderr)
	for _, want := range []string{"cycle " + id, `"greet_the_architect" for object 3 — COMPLETE v1`, "2 attempt(s)", "written by ALFRED", "IDLE", "prompt to BRICK", "reply from ALFRED", "rejected:", "installed source", "defer self.MarkChanged()"} {
		assert.Contains(t, r.stdout, want)
	}
	full := c.run("log", "--full", id)
	assert.Greater(t, len(full.stdout), len(r.stdout), "--full shows prompts whole")
	assert.Contains(t, full.stdout, "THE PERSISTENCE COVENANT")

	r = c.run("log", "--json", id)
	var rec psm.Record
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rec))
	assert.Equal(t, id, rec.ID)
	assert.Equal(t, psm.Complete, rec.Outcome)
}

// An image a kernel holds is refused with a hint to ask the kernel.
func TestInspectLockedImage(t *testing.T) {
	dir, c := newImage(t)
	im, err := uvm.Open(dir, uvm.Options{})
	require.NoError(t, err)
	defer im.Close()
	r := c.run("inspect")
	assert.Equal(t, exitFailed, r.code)
	assert.Contains(t, r.stderr, "open in another process")
	assert.Contains(t, r.stderr, "--kernel")
	r = c.run("send", "genesis", "name")
	assert.Equal(t, exitFailed, r.code)
	assert.Contains(t, r.stderr, "--kernel")
}
