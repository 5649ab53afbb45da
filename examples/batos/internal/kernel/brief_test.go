package kernel_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/batos-dev/batos/examples/batos/internal/kernel"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// POST /api/brief: ALFRED's model reads a request into a brief for an
// object that exists; a reply without one, a brief naming no object and
// a failing model are readable errors.
func TestBriefRoute(t *testing.T) {
	f := newFixture(t, kernel.Options{}, "briefs.jsonl")
	brief := func(text string) answer {
		b, err := json.Marshal(kernel.BriefRequest{Text: text})
		require.NoError(t, err)
		return f.do(t, "POST", "/api/brief", string(b), "")
	}

	a := brief("give genesis a method that counts words in a text")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	assert.Equal(t, "genesis", a.body["object"])
	assert.Equal(t, float64(f.mind.Genesis()), a.body["oid"])
	assert.Equal(t, "count_words", a.body["selector"], "the selector in words becomes snake_case")
	assert.Equal(t, []any{"the quick brown fox"}, a.body["args"])
	assert.Equal(t, "count the words of a text", a.body["intent"])
	assert.Equal(t, "ALFRED", a.body["persona"])
	assert.Contains(t, a.body["reply"], "```json")

	a = brief("tell me a joke")
	assert.Equal(t, http.StatusUnprocessableEntity, a.status, "%s", a.raw)
	assert.Equal(t, kernel.KindBriefUnreadable, a.body["kind"])
	assert.Contains(t, a.body["reply"], "gophers")

	a = brief("wake the sleeper")
	assert.Equal(t, http.StatusUnprocessableEntity, a.status, "%s", a.raw)
	assert.Equal(t, kernel.KindBriefUnreadable, a.body["kind"])
	assert.Contains(t, a.body["error"], `no root named "sleeper"`)

	a = brief("anything")
	assert.Equal(t, http.StatusBadGateway, a.status, "%s", a.raw)
	assert.Equal(t, kernel.KindModelFailed, a.body["kind"])
	assert.Contains(t, a.body["error"], "the model server is down")

	for _, body := range []string{`{"text": ""}`, `{"text": "x", "persona": "NOBODY"}`, `{"words": "x"}`} {
		a = f.do(t, "POST", "/api/brief", body, "")
		assert.Equal(t, http.StatusBadRequest, a.status, "%s: %s", body, a.raw)
	}
}
