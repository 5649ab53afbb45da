package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// watch does not restart a kernel that refuses its command line: it
// exits 2 like the kernel.
func TestWatchKernelUsageError(t *testing.T) {
	t.Setenv(envAsCommand, "1") // the watched kernel is this binary, as the command
	c := newCLI(nil)
	r := c.run("watch", "--image", filepath.Join(t.TempDir(), "img"), "--addr", "127.0.0.1:0", "--model", "gpt")
	assert.Equal(t, exitUsage, r.code, "stderr:\n%s", r.stderr)
	assert.Contains(t, r.stderr, "--model")
	assert.Contains(t, r.stderr, "the kernel refused its command line")
	require.Equal(t, 1, strings.Count(r.stderr, "child started"), "not restarted:\n%s", r.stderr)
}

// watch restarts a kernel that dies and stops, with the kernel, when told.
func TestWatchRestartsTheKernel(t *testing.T) {
	t.Setenv(envAsCommand, "1")
	dir := filepath.Join(t.TempDir(), "img")
	addrPath := filepath.Join(t.TempDir(), "addr.json")
	c := newCLI(nil)
	_, stderr, wait := c.start("watch", "--image", dir, "--addr", "127.0.0.1:0", "--addr-file", addrPath, "--backoff", "10ms")
	kernelUp := func(dead int) addrFile {
		var af addrFile
		require.Eventually(t, func() bool {
			b, err := os.ReadFile(addrPath)
			if err != nil || json.Unmarshal(b, &af) != nil || af.PID == dead {
				return false
			}
			status, _ := get(t, af.URL+"/healthz", "")
			return status == http.StatusOK
		}, 30*time.Second, 10*time.Millisecond, "stderr:\n%s", stderr)
		return af
	}
	first := kernelUp(0)
	status, _ := post(t, first.URL+"/api/send", `{"object":"genesis","selector":"name"}`, "")
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, syscall.Kill(first.PID, syscall.SIGKILL))
	second := kernelUp(first.PID)
	status, body := post(t, second.URL+"/api/send", `{"object":"genesis","selector":"name"}`, "")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "genesis", body["answer"])
	require.True(t, c.sigs.send(syscall.SIGTERM))
	r := wait()
	assert.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	assert.Equal(t, 2, strings.Count(r.stderr, "child started"))
	assert.Contains(t, r.stderr, "child died; restarting")
	assert.Contains(t, r.stderr, "batos kernel stopped; image closed")
}
