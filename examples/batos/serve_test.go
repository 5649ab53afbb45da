package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// kernelRun is a `batos serve` running in process.
type kernelRun struct {
	c      *cli
	url    string
	stderr *syncBuffer
	wait   func() result
}

// startKernel runs serve on a free loopback port with these extra flags
// and waits until it answers.
func startKernel(t *testing.T, c *cli, dir string, flags ...string) *kernelRun {
	t.Helper()
	path := filepath.Join(t.TempDir(), "addr.json")
	args := append([]string{"serve", "--image", dir, "--addr", "127.0.0.1:0", "--addr-file", path}, flags...)
	_, stderr, wait := c.start(args...)
	k := &kernelRun{c: c, stderr: stderr, wait: wait}
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		var af addrFile
		require.NoError(t, json.Unmarshal(b, &af))
		k.url = af.URL
		return true
	}, 30*time.Second, 10*time.Millisecond, "the kernel never wrote its address; stderr:\n%s", stderr)
	t.Cleanup(func() {
		if c.sigs.send(syscall.SIGTERM) {
			k.wait()
		}
	})
	return k
}

// post sends a JSON body and decodes the JSON answer.
func post(t *testing.T, url, body, token string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest("POST", url, bytes.NewBufferString(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	require.NoError(t, json.Unmarshal(raw, &out), "body %s", raw)
	return resp.StatusCode, out
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1, err.Error()
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

func (k *kernelRun) waitInFlight(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool {
		_, m := get(t, k.url+"/metrics", "")
		return strings.Contains(m, "batos_sends_in_flight 1\n")
	}, 20*time.Second, 5*time.Millisecond)
}

// SIGTERM lets the running cycle finish within the grace period, refuses
// new connections, closes the image and exits 0.
func TestServeShutsDownGracefully(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "img")
	c := newCLI(nil)
	k := startKernel(t, c, dir, "--model", "scripted:testdata/add_slow.jsonl", "--grace", "20s")
	type answer struct {
		status int
		body   map[string]any
	}
	got := make(chan answer, 1)
	go func() {
		s, b := post(t, k.url+"/api/send", `{"object":"genesis","selector":"add","args":[2,40]}`, "")
		got <- answer{s, b}
	}()
	k.waitInFlight(t)
	require.True(t, c.sigs.send(syscall.SIGTERM))
	a := <-got
	assert.Equal(t, http.StatusOK, a.status, "%v", a.body)
	assert.Equal(t, float64(42), a.body["answer"])
	r := k.wait()
	assert.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	assert.Contains(t, r.stderr, "shutting down")
	assert.Contains(t, r.stderr, "image closed")
	status, _ := get(t, k.url+"/healthz", "")
	assert.Equal(t, -1, status, "the listener is closed")
	im, err := uvm.Open(dir, uvm.Options{}) // not locked any more
	require.NoError(t, err)
	require.NoError(t, im.Close())
}

// When the grace period runs out, the running cycle is cancelled (503
// shutting_down to its client), the image is unchanged, and serve exits 0.
func TestServeCancelsAfterGrace(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "img")
	c := newCLI(nil)
	require.Equal(t, exitOK, c.run("send", "--image", dir, "genesis", "name").code)
	before := fingerprint(t, dir)
	k := startKernel(t, c, dir, "--model", "scripted:testdata/hang.jsonl", "--grace", "300ms")
	got := make(chan map[string]any, 1)
	go func() {
		status, body := post(t, k.url+"/api/send", `{"object":"genesis","selector":"add","args":[2,40]}`, "")
		assert.Equal(t, http.StatusServiceUnavailable, status)
		got <- body
	}()
	k.waitInFlight(t)
	require.True(t, c.sigs.send(syscall.SIGTERM))
	body := <-got
	assert.Equal(t, "shutting_down", body["kind"])
	assert.NotEmpty(t, body["cycle"])
	r := k.wait()
	assert.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	assert.Contains(t, r.stderr, "running sends were cancelled")
	assert.Equal(t, before, fingerprint(t, dir))
}

// A second signal cuts the grace period short.
func TestServeSecondSignalCutsGraceShort(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "img")
	c := newCLI(nil)
	k := startKernel(t, c, dir, "--model", "scripted:testdata/hang.jsonl", "--grace", "1h")
	go post(t, k.url+"/api/send", `{"object":"genesis","selector":"add"}`, "")
	k.waitInFlight(t)
	require.True(t, c.sigs.send(os.Interrupt))
	require.Eventually(t, func() bool { return strings.Contains(k.stderr.String(), "shutting down") }, 5*time.Second, 5*time.Millisecond)
	require.True(t, c.sigs.send(os.Interrupt))
	r := k.wait()
	assert.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	assert.Contains(t, r.stderr, "second signal")
}

// With a token (here from $BATOS_TOKEN) every route but /healthz needs
// it; beyond loopback the token is what lets serve start.
func TestServeToken(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "img")
	c := newCLI(map[string]string{envToken: "s3cret"})
	k := startKernel(t, c, dir)
	status, _ := get(t, k.url+"/api/objects", "")
	assert.Equal(t, http.StatusUnauthorized, status)
	status, _ = get(t, k.url+"/api/objects", "s3cret")
	assert.Equal(t, http.StatusOK, status)
	status, _ = get(t, k.url+"/healthz", "")
	assert.Equal(t, http.StatusOK, status)

	// The CLI passes the token on.
	r := c.run("inspect", "--kernel", k.url, "genesis")
	assert.Equal(t, exitOK, r.code, r.stderr)
	r = newCLI(nil).run("inspect", "--kernel", k.url)
	assert.Equal(t, exitFailed, r.code)
	assert.Contains(t, r.stderr, "bearer token")
}

// Beyond loopback, serve starts only with a token.
func TestServeBeyondLoopbackWithToken(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "img")
	c := newCLI(nil)
	addrFile := filepath.Join(t.TempDir(), "addr.json")
	_, stderr, wait := c.start("serve", "--image", dir, "--addr", "0.0.0.0:0", "--token", "s3cret", "--addr-file", addrFile)
	require.Eventually(t, func() bool { _, err := os.Stat(addrFile); return err == nil }, 30*time.Second, 10*time.Millisecond, "stderr:\n%s", stderr)
	require.True(t, c.sigs.send(syscall.SIGTERM))
	assert.Equal(t, exitOK, wait().code)
}

// send, inspect and log ask a running kernel with --kernel: the same
// output, the cycle's progress followed on the event stream.
func TestCommandsAgainstAKernel(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "img")
	c := newCLI(nil)
	k := startKernel(t, c, dir, "--model", "scripted:testdata/add.jsonl")
	kc := newCLI(map[string]string{envKernel: k.url})

	r := kc.run("send", "genesis", "add", "2", "40")
	require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	assert.Equal(t, "42\n", r.stdout)
	for _, want := range []string{"IDLE", "asks BRICK", "SYNTHESIZING", "COMPLETE", "installed add v1"} {
		assert.Contains(t, r.stderr, want)
	}
	r = kc.run("send", "--json", "3", "add", "1", "2")
	require.Equal(t, exitOK, r.code, r.stderr)
	var res sendResult
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &res))
	assert.Equal(t, float64(3), res.Answer)
	assert.Empty(t, res.Cycles)

	r = kc.run("inspect", "genesis", "add")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "return a + b, nil")
	r = kc.run("inspect")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "1 cycles recorded")
	r = kc.run("inspect", "genesis")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "object 3 (genesis)")
	r = kc.run("log")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "COMPLETE v1")

	// The script is spent: a new selector's cycle fails.
	r = kc.run("send", "--json", "genesis", "sub", "2", "1")
	assert.Equal(t, exitFailed, r.code)
	var body map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &body))
	assert.Equal(t, "cycle_failed", body["kind"])
	r = kc.run("send", "nobody", "add")
	assert.Equal(t, exitFailed, r.code)
	assert.Contains(t, r.stderr, "nobody")
	r = kc.run("log", "c0-0")
	assert.Equal(t, exitFailed, r.code)
	r = kc.run("send", "genesis", "add", `{"$ref": "x"}`, "1") // a string: refused by the method
	assert.Equal(t, exitFailed, r.code)
	r = newCLI(map[string]string{envKernel: "http://127.0.0.1:1"}).run("inspect")
	assert.Equal(t, exitFailed, r.code, "no kernel there")
}
