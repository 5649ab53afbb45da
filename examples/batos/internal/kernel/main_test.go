package kernel_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/batos-dev/batos/examples/batos/internal/kernel"
	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm/live"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms"
)

func TestMain(m *testing.M) {
	live.ServeIfWorker() // dry runs of new methods run in workers: this binary, re-executed
	os.Exit(m.Run())
}

// fixture is a kernel around an in-memory mind, served on loopback.
type fixture struct {
	mind *psm.Mind
	srv  *kernel.Server
	http *httptest.Server
}

// newFixture opens a mind whose model answers from the script (a JSONL
// file under examples/batos/testdata), with generated methods in process,
// and serves a kernel for it until the test ends.
func newFixture(t testing.TB, opts kernel.Options, script string) *fixture {
	t.Helper()
	return newFixtureAt(t, "", opts, script)
}

// newFixtureAt is newFixture with the image on disk in dir, durable (an
// fsync per commit); "" means in memory.
func newFixtureAt(t testing.TB, dir string, opts kernel.Options, script string) *fixture {
	t.Helper()
	data, err := os.ReadFile("../../testdata/" + script)
	require.NoError(t, err)
	model, err := persona.ParseScript(script, data)
	require.NoError(t, err)
	return newFixtureWith(t, dir, opts, model, nil)
}

// newFixtureWith serves a kernel on a mind of model whose image is on
// disk in dir ("" means in memory), through ln (nil means a listener of
// httptest's); tune, if any, changes the mind's options.
func newFixtureWith(t testing.TB, dir string, opts kernel.Options, model llms.Model, ln net.Listener, tune ...func(*psm.Options)) *fixture {
	t.Helper()
	mo := psm.Options{InMemory: dir == "", NoSync: dir == "", Model: model, Live: live.Options{Policy: live.PolicyInProcess}}
	for _, f := range tune {
		f(&mo)
	}
	mind, err := psm.Open(context.Background(), dir, mo)
	require.NoError(t, err)
	f := &fixture{mind: mind, srv: kernel.New(mind, opts)}
	f.http = httptest.NewUnstartedServer(f.srv.Handler())
	if ln != nil {
		f.http.Listener.Close()
		f.http.Listener = ln
	}
	f.http.Start()
	t.Cleanup(func() {
		f.http.CloseClientConnections()
		f.http.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		f.srv.Shutdown(ctx)
		require.NoError(t, f.mind.Close())
	})
	return f
}

// answer is a decoded JSON answer.
type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

// do sends a request with an optional JSON body and bearer token.
func (f *fixture) do(t testing.TB, method, path, body, token string) answer {
	t.Helper()
	return f.doCtx(t, context.Background(), method, path, body, token)
}

func (f *fixture) doCtx(t testing.TB, ctx context.Context, method, path, body, token string) answer {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = bytes.NewBufferString(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, f.http.URL+path, r)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := f.http.Client().Do(req)
	if err != nil {
		return answer{status: -1, body: map[string]any{"error": err.Error()}}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 && raw[0] == '{' {
		require.NoError(t, json.Unmarshal(raw, &a.body), "body %s", raw)
	}
	return a
}

// send posts a message and returns the answer.
func (f *fixture) send(t testing.TB, object any, selector string, args ...any) answer {
	t.Helper()
	b, err := json.Marshal(map[string]any{"object": object, "selector": selector, "args": args})
	require.NoError(t, err)
	return f.do(t, "POST", "/api/send", string(b), "")
}
