package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fingerprint is the image's fingerprint without its audit trail (the
// cycle records, the index of cycles awaiting approval): what a failed
// cycle, or one that waits for approval, must leave unchanged.
func fingerprint(t *testing.T, dir string) string {
	t.Helper()
	mind, err := psm.Open(context.Background(), dir, psm.Options{Model: persona.NewScripted(nil)})
	require.NoError(t, err)
	defer mind.Close()
	fp, err := mind.Fingerprint(context.Background())
	require.NoError(t, err)
	return fp
}

// The README's path, offline: a new selector runs a cycle whose states
// show on stderr, the answer goes to stdout, and the next send answers at
// once.
func TestSendOffline(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "img")
	c := newCLI(nil)
	r := c.run("send", "--image", dir, "genesis", "greet_the_architect", "Ada")
	require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	assert.Equal(t, "Hello, Ada. I am genesis, and I wrote this greeting myself (greeting #1).\n", r.stdout)
	for _, want := range []string{"model: offline", "IDLE", "DECOMPOSING", "asks BRICK", "DELEGATING", "SYNTHESIZING", "asks ALFRED", "VALIDATING", "rejected:", "COMPLETE", "installed greet_the_architect v1"} {
		assert.Contains(t, r.stderr, want)
	}

	r = c.run("send", "--image", dir, "--json", "3", "greet_the_architect", "Ada")
	require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	assert.Empty(t, r.stderr, "no cycle, no progress")
	var res sendResult
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &res))
	assert.Equal(t, uvm.OID(3), res.Object)
	assert.Contains(t, res.Answer, "greeting #2")
	assert.Empty(t, res.Cycles)
}

// A cycle that fails exits 1, names the state and the reason, and leaves
// the image as it was.
func TestSendFailedCycle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "img")
	c := newCLI(map[string]string{envImage: dir, envModel: "scripted:testdata/down.jsonl"})
	r := c.run("send", "genesis", "name") // awakens the image; a data slot answers without a model
	require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	assert.Equal(t, "genesis\n", r.stdout)
	before := fingerprint(t, dir)

	r = c.run("send", "genesis", "add", "2", "40")
	assert.Equal(t, exitFailed, r.code)
	assert.Contains(t, r.stderr, "failed in DECOMPOSING")
	assert.Contains(t, r.stderr, "the model server is down")
	assert.Contains(t, r.stderr, "the image is unchanged")
	assert.Equal(t, before, fingerprint(t, dir), "a failed cycle changed the image")

	r = c.run("send", "--json", "-q", "genesis", "add", "2", "40")
	assert.Equal(t, exitFailed, r.code)
	var body map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &body), "stdout %q", r.stdout)
	assert.Equal(t, "cycle_failed", body["kind"])
	assert.Equal(t, "DECOMPOSING", body["state"])
	assert.Equal(t, "add", body["selector"])
	assert.NotEmpty(t, body["cycle"])
	assert.NotContains(t, r.stderr, "IDLE", "-q shows no progress")
}

// Ctrl-C during a cycle cancels it: exit 1, "interrupted", nothing written.
func TestSendInterrupted(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "img")
	c := newCLI(map[string]string{envImage: dir})
	require.Equal(t, exitOK, c.run("send", "genesis", "name").code)
	before := fingerprint(t, dir)

	_, stderr, wait := c.start("send", "--model", "scripted:testdata/hang.jsonl", "genesis", "add", "1", "2")
	require.Eventually(t, func() bool { return strings.Contains(stderr.String(), "asks BRICK") }, 20*time.Second, 10*time.Millisecond)
	require.True(t, c.sigs.send(os.Interrupt), "send listens for signals")
	r := wait()
	assert.Equal(t, exitFailed, r.code)
	assert.Contains(t, r.stderr, "interrupted")
	assert.Contains(t, r.stderr, "the image is unchanged")
	assert.Equal(t, before, fingerprint(t, dir))
}

// Every command's exit status: 0 success, 1 the operation failed, 2 usage.
func TestExitStatuses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "img")
	c := newCLI(map[string]string{envImage: dir})
	require.Equal(t, exitOK, c.run("send", "genesis", "name").code)
	missing := filepath.Join(t.TempDir(), "none")
	for _, tc := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"no command", []string{}, exitOK, ""},
		{"help", []string{"send", "--help"}, exitOK, ""},
		{"unknown command", []string{"sned"}, exitUsage, "unknown command"},
		{"unknown flag", []string{"inspect", "--colour"}, exitUsage, "unknown flag"},
		{"send without arguments", []string{"send"}, exitUsage, "requires at least 2"},
		{"send without selector", []string{"send", "genesis"}, exitUsage, "requires at least 2"},
		{"send with a bad selector", []string{"send", "genesis", "a\x01b"}, exitUsage, "selector"},
		{"send to a bad reference", []string{"send", "", "name"}, exitUsage, "invalid object reference"},
		{"send to nobody", []string{"send", "nobody", "name"}, exitFailed, `no root named "nobody"`},
		{"send to a missing OID", []string{"send", "99999", "name"}, exitFailed, "no object 99999"},
		{"bad policy", []string{"send", "--policy", "sometimes", "genesis", "name"}, exitUsage, "--policy"},
		{"bad model", []string{"send", "--model", "gpt", "genesis", "name"}, exitUsage, "--model"},
		{"bad kernel URL", []string{"inspect", "--kernel", "localhost"}, exitUsage, "--kernel"},
		{"inspect too many", []string{"inspect", "a", "b", "c"}, exitUsage, "accepts at most 2"},
		{"inspect nobody", []string{"inspect", "nobody"}, exitFailed, "nobody"},
		{"inspect no image", []string{"inspect", "--image", missing}, exitFailed, "no image at"},
		{"inspect no method", []string{"inspect", "genesis", "nothing"}, exitFailed, "no method"},
		{"log no such cycle", []string{"log", "c0-0"}, exitFailed, "no such cycle"},
		{"log bad limit", []string{"log", "--limit", "-1"}, exitUsage, "--limit"},
		{"log too many", []string{"log", "a", "b"}, exitUsage, "accepts at most 1"},
		{"serve with arguments", []string{"serve", "now"}, exitUsage, "unknown command"},
		{"serve beyond loopback without token", []string{"serve", "--addr", "0.0.0.0:0"}, exitUsage, "--token"},
		{"serve on a bad address", []string{"serve", "--addr", "nowhere"}, exitUsage, "--addr"},
		{"watch beyond loopback without token", []string{"watch", "--addr", ":8377"}, exitUsage, "--token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.run(tc.args...)
			assert.Equal(t, tc.code, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			assert.Contains(t, r.stderr, tc.says)
			if tc.code == exitUsage {
				assert.Contains(t, r.stderr, "--help' for usage")
			}
		})
	}
}

// --json failures print the error body on stdout, with the usage kind for
// usage errors.
func TestJSONErrors(t *testing.T) {
	c := newCLI(nil)
	r := c.run("inspect", "--json", "--image", filepath.Join(t.TempDir(), "none"))
	assert.Equal(t, exitFailed, r.code)
	var body map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &body))
	assert.Equal(t, "not_found", body["kind"])
	r = c.run("log", "--json", "--limit", "-2")
	assert.Equal(t, exitUsage, r.code)
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &body))
	assert.Equal(t, "bad_request", body["kind"])
}

// Arguments are JSON values when they parse as one, else strings.
func TestParseArg(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want any
	}{
		{"42", int64(42)},
		{"-7", int64(-7)},
		{"1.5", 1.5},
		{"true", true},
		{"null", nil},
		{`"42"`, "42"},
		{"Ada", "Ada"},
		{"Ada Lovelace", "Ada Lovelace"},
		{"[1, \"a\"]", []any{int64(1), "a"}},
		{`{"k": 2}`, map[string]any{"k": int64(2)}},
		{`{"$ref": 3}`, uvm.Ref{OID: 3}},
		{"{broken", "{broken"},
		{"1 2", "1 2"},
		{"", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			assert.Equal(t, tc.want, parseArg(tc.in))
		})
	}
}
