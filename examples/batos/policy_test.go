package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/batos-dev/batos/psm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// policy shows and sets the generation policy, image-wide on traits or
// for one object and its descendants.
func TestPolicy(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "img")
	c := newCLI(map[string]string{envImage: dir, envModel: "scripted:testdata/down.jsonl"})
	require.Equal(t, exitOK, c.run("send", "genesis", "name").code)

	r := c.run("policy")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "object 1 (traits): auto, near misses refused\n", r.stdout)

	r = c.run("policy", "genesis", "never")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "object 3 (genesis): never, near misses refused\n", r.stdout)
	r = c.run("policy", "3")
	assert.Equal(t, "object 3: never, near misses refused\n", r.stdout)
	r = c.run("policy")
	assert.Equal(t, "object 1 (traits): auto, near misses refused\n", r.stdout, "genesis's own policy leaves the image-wide one")

	// The model is down: a cycle would fail in DECOMPOSING. Under never,
	// no cycle starts and no model is asked.
	r = c.run("send", "genesis", "add", "2", "40")
	assert.Equal(t, exitFailed, r.code)
	assert.Contains(t, r.stderr, `its generation policy is "never"`)
	assert.NotContains(t, r.stderr, "DECOMPOSING")

	r = c.run("policy", "--json", "traits", "approve", "--allow-near-misses")
	require.Equal(t, exitOK, r.code, r.stderr)
	var p policyView
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &p))
	assert.Equal(t, policyView{Object: 1, Generation: psm.GenerateApprove, AllowNearMisses: true}, p)
	r = c.run("policy", "--json", "knowledge")
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &p))
	assert.Equal(t, psm.GenerateApprove, p.Generation, "knowledge delegates to traits")

	for _, tc := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"unknown mode", []string{"policy", "genesis", "sometimes"}, exitUsage, `policy "sometimes"`},
		{"near misses without a mode", []string{"policy", "genesis", "--allow-near-misses"}, exitUsage, "--allow-near-misses"},
		{"too many", []string{"policy", "genesis", "auto", "now"}, exitUsage, "accepts at most 2"},
		{"nobody", []string{"policy", "nobody"}, exitFailed, `no root named "nobody"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.run(tc.args...)
			assert.Equal(t, tc.code, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			assert.Contains(t, r.stderr, tc.says)
		})
	}
}
