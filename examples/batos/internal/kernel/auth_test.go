package kernel_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/batos-dev/batos/examples/batos/internal/kernel"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// With a token, every route but /healthz and the inspector's files needs
// it; the event stream also takes it as ?access_token=.
func TestBearerToken(t *testing.T) {
	f := newFixture(t, kernel.Options{Token: "s3cret"}, "add.jsonl")
	for _, tc := range []struct {
		name, method, path, token string
		status                    int
	}{
		{"no token", "GET", "/api/objects", "", 401},
		{"wrong token", "GET", "/api/objects", "guess", 401},
		{"right token", "GET", "/api/objects", "s3cret", 200},
		{"send without token", "POST", "/api/send", "", 401},
		{"metrics without token", "GET", "/metrics", "", 401},
		{"metrics with token", "GET", "/metrics", "s3cret", 200},
		{"unknown route without token", "GET", "/nothing", "", 401},
		{"health needs none", "GET", "/healthz", "", 200},
		{"the page needs none", "GET", "/", "", 200},
		{"its files need none", "GET", "/ui/app.js", "", 200},
		{"the graph needs it", "GET", "/api/graph", "", 401},
		{"briefs need it", "POST", "/api/brief", "", 401},
		{"token in the query is for events only", "GET", "/api/objects?access_token=s3cret", "", 401},
		{"events with a wrong query token", "GET", "/api/events?access_token=guess", "", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := f.do(t, tc.method, tc.path, "", tc.token)
			assert.Equal(t, tc.status, a.status, "%s", a.raw)
			if tc.status == 401 {
				assert.Equal(t, kernel.KindUnauthorized, a.body["kind"])
				assert.Equal(t, `Bearer realm="batos"`, a.header.Get("WWW-Authenticate"))
			}
		})
	}
	t.Run("events with the query token", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, "GET", f.http.URL+"/api/events?access_token=s3cret", nil)
		require.NoError(t, err)
		resp, err := f.http.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	})
}
