package kernel_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batos-dev/batos/examples/batos/internal/imageview"
	"github.com/batos-dev/batos/examples/batos/internal/kernel"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A new selector runs a cycle and answers with the new method; the next
// send answers without one.
func TestSendWritesTheMethodThenAnswers(t *testing.T) {
	f := newFixture(t, kernel.Options{}, "add.jsonl")
	a := f.send(t, "genesis", "add", 2, 40)
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	assert.Equal(t, float64(42), a.body["answer"])
	assert.Equal(t, float64(f.mind.Genesis()), a.body["object"])
	assert.Equal(t, "add", a.body["selector"])

	// By OID, as a string or a number; the script has no more replies, so
	// a second cycle would fail.
	for _, obj := range []any{float64(f.mind.Genesis()), "3", "#3"} {
		a = f.send(t, obj, "add", 1, 2)
		require.Equal(t, http.StatusOK, a.status, "object %v: %s", obj, a.raw)
		assert.Equal(t, float64(3), a.body["answer"])
	}
	cycles, err := f.mind.Cycles(context.Background())
	require.NoError(t, err)
	assert.Len(t, cycles, 1, "got %d cycles, want 1", len(cycles))
}

// A cycle that fails answers 422 cycle_failed naming the cycle, the state
// and the selector; the image is as it was, but for the cycle's record.
func TestSendFailedCycleAnswers422AndLeavesTheImage(t *testing.T) {
	f := newFixture(t, kernel.Options{}, "down.jsonl")
	before, err := f.mind.Image().Fingerprint(context.Background(), psm.RecordNamespace)
	require.NoError(t, err)
	a := f.send(t, "genesis", "add", 2, 40)
	require.Equal(t, http.StatusUnprocessableEntity, a.status, "%s", a.raw)
	assert.Equal(t, kernel.KindCycleFailed, a.body["kind"])
	assert.Equal(t, "DECOMPOSING", a.body["state"])
	assert.Equal(t, "add", a.body["selector"])
	assert.NotEmpty(t, a.body["cycle"])
	assert.Contains(t, a.body["error"], "the model server is down")
	after, err := f.mind.Image().Fingerprint(context.Background(), psm.RecordNamespace)
	require.NoError(t, err)
	assert.Equal(t, before, after, "a failed cycle changed the image")
}

// Every malformed or impossible send gets its status and kind, in JSON.
func TestSendRefusals(t *testing.T) {
	f := newFixture(t, kernel.Options{MaxBody: 512}, "add.jsonl")
	for _, tc := range []struct {
		name, body string
		status     int
		kind       string
	}{
		{"not JSON", `{"object":`, 400, kernel.KindBadRequest},
		{"unknown field", `{"object":"genesis","selector":"add","argz":[]}`, 400, kernel.KindBadRequest},
		{"two values", `{"object":"genesis","selector":"x"} {}`, 400, kernel.KindBadRequest},
		{"no object", `{"selector":"add"}`, 400, kernel.KindBadRequest},
		{"object of the wrong type", `{"object":[1],"selector":"add"}`, 400, kernel.KindBadRequest},
		{"no selector", `{"object":"genesis"}`, 400, kernel.KindBadRequest},
		{"bad root name", `{"object":"a\u0000b","selector":"add"}`, 400, kernel.KindBadRequest},
		{"bad argument", `{"object":"genesis","selector":"add","args":[{"$ref":"x"}]}`, 400, kernel.KindBadRequest},
		{"no such root", `{"object":"nobody","selector":"add"}`, 404, kernel.KindNotFound},
		{"no such OID", `{"object":999999,"selector":"add"}`, 404, kernel.KindNotFound},
		{"too large", `{"object":"genesis","selector":"add","args":["` + strings.Repeat("x", 600) + `"]}`, 413, kernel.KindTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := f.do(t, "POST", "/api/send", tc.body, "")
			assert.Equal(t, tc.status, a.status, "got %d, want %d: %s", a.status, tc.status, a.raw)
			assert.Equal(t, tc.kind, a.body["kind"])
			assert.NotEmpty(t, a.body["error"])
			assert.Equal(t, "application/json", a.header.Get("Content-Type"))
		})
	}
}

// A method that fails at run time answers 422 method_failed.
func TestSendMethodErrorAnswers422(t *testing.T) {
	f := newFixture(t, kernel.Options{}, "add.jsonl")
	require.Equal(t, http.StatusOK, f.send(t, "genesis", "add", 1, 1).status)
	a := f.send(t, "genesis", "add", "one", 1)
	assert.Equal(t, http.StatusUnprocessableEntity, a.status, "%s", a.raw)
	assert.Equal(t, kernel.KindMethodFailed, a.body["kind"])
	assert.Contains(t, a.body["error"], "add wants two integers")
}

// With every worker busy and the queue full, a send answers 503
// queue_full with Retry-After at once; the queued one runs later.
func TestSendQueueFullAnswers503(t *testing.T) {
	f := newFixture(t, kernel.Options{Workers: 1, Queue: 1, RetryAfter: 3 * time.Second}, "hang.jsonl")
	busy, cancelBusy := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	results := make([]answer, 2)
	for i, sel := range []string{"first", "second"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = f.doCtx(t, busy, "POST", "/api/send", `{"object":"genesis","selector":"`+sel+`"}`, "")
		}()
		// The first takes the worker (its model hangs), the second the queue.
		require.Eventually(t, func() bool {
			m := f.do(t, "GET", "/metrics", "", "")
			return strings.Contains(string(m.raw), map[int]string{0: "batos_sends_in_flight 1", 1: "batos_send_queue_depth 1"}[i])
		}, 10*time.Second, 5*time.Millisecond)
	}
	a := f.send(t, "genesis", "third")
	assert.Equal(t, http.StatusServiceUnavailable, a.status, "%s", a.raw)
	assert.Equal(t, kernel.KindQueueFull, a.body["kind"])
	assert.Equal(t, "3", a.header.Get("Retry-After"))
	cancelBusy()
	wg.Wait()
}

// Object references and arguments in JSON form reach the method as uvm
// values; answers come back in JSON form.
func TestSendArgumentsAndAnswersInJSONForm(t *testing.T) {
	f := newFixture(t, kernel.Options{}, "add.jsonl")
	require.Equal(t, http.StatusOK, f.send(t, "genesis", "add", 1, 1).status)
	// "name" is a data slot of genesis: sent without arguments it answers
	// its value.
	a := f.send(t, "genesis", "name")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	assert.Equal(t, "genesis", a.body["answer"])
	// A reference argument is decoded ({"$ref": N}) and refused by add.
	a = f.do(t, "POST", "/api/send", `{"object":"genesis","selector":"add","args":[{"$ref":1},2]}`, "")
	assert.Equal(t, http.StatusUnprocessableEntity, a.status, "%s", a.raw)
	v, err := imageview.Decode([]byte(`[{"$ref":1},{"$bytes":"aGk="},1.5,7]`))
	require.NoError(t, err)
	assert.Equal(t, []any{uvm.Ref{OID: 1}, []byte("hi"), 1.5, int64(7)}, v)
}

// Options.SendTimeout bounds a send, cycle included: the cycle fails and
// says why.
func TestSendTimeout(t *testing.T) {
	f := newFixture(t, kernel.Options{SendTimeout: 200 * time.Millisecond}, "hang.jsonl")
	start := time.Now()
	a := f.send(t, "genesis", "add", 1, 2)
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.Equal(t, http.StatusUnprocessableEntity, a.status, "%s", a.raw)
	assert.Equal(t, kernel.KindCycleFailed, a.body["kind"])
	assert.Contains(t, a.body["error"], "deadline exceeded")
}
