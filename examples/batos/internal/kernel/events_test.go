package kernel_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batos-dev/batos/examples/batos/internal/kernel"
	"github.com/batos-dev/batos/psm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sse is one received server-sent event.
type sse struct {
	id    uint64
	name  string
	event psm.Event
}

// stream opens GET /api/events with the query and header, and delivers
// its events on a channel, closed when the stream ends.
func (f *fixture) stream(t *testing.T, ctx context.Context, query, lastID string) <-chan sse {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", f.http.URL+"/api/events"+query, nil)
	require.NoError(t, err)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := f.http.Client().Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	out := make(chan sse, 1024)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 16<<20)
		var cur sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if cur.name != "" {
					out <- cur
				}
				cur = sse{}
			case strings.HasPrefix(line, "id: "):
				cur.id, _ = strconv.ParseUint(line[4:], 10, 64)
			case strings.HasPrefix(line, "event: "):
				cur.name = line[7:]
			case strings.HasPrefix(line, "data: ") && cur.name == kernel.EventCycle:
				json.Unmarshal([]byte(line[6:]), &cur.event)
			}
		}
	}()
	return out
}

// collect reads events until one satisfies stop, or fails after a while.
func collect(t *testing.T, ch <-chan sse, stop func(sse) bool) []sse {
	t.Helper()
	var got []sse
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				return got
			}
			got = append(got, e)
			if stop(e) {
				return got
			}
		case <-timeout:
			require.FailNow(t, "no end of events", "got %d events", len(got))
		}
	}
}

// The stream carries a cycle's events as they happen, in order, with
// increasing ids; a filter keeps kinds; Last-Event-ID resumes; shutdown
// ends every stream with a shutdown event.
func TestEventStream(t *testing.T) {
	f := newFixture(t, kernel.Options{}, "add.jsonl")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	all := f.stream(t, ctx, "", "")
	states := f.stream(t, ctx, "?kinds=state,outcome", "")

	require.Equal(t, http.StatusOK, f.send(t, "genesis", "add", 2, 40).status)
	isOutcome := func(e sse) bool { return e.event.Kind == psm.EventOutcome }
	got := collect(t, all, isOutcome)
	var kinds []string
	var walked []psm.State
	for i, e := range got {
		assert.Equal(t, kernel.EventCycle, e.name)
		if i > 0 {
			assert.Greater(t, e.id, got[i-1].id, "ids increase")
		}
		kinds = append(kinds, e.event.Kind)
		if e.event.Kind == psm.EventState {
			walked = append(walked, e.event.State)
		}
	}
	assert.Equal(t, []psm.State{psm.Idle, psm.Decomposing, psm.Delegating, psm.Synthesizing, psm.Validating, psm.Complete}, walked)
	assert.Contains(t, kinds, psm.EventPrompt)
	assert.Contains(t, kinds, psm.EventReply)
	assert.Equal(t, psm.Complete, got[len(got)-1].event.State)

	filtered := collect(t, states, isOutcome)
	for _, e := range filtered {
		assert.Contains(t, []string{psm.EventState, psm.EventOutcome}, e.event.Kind)
	}
	assert.Len(t, filtered, len(walked)+1)

	// A client that saw up to the third event resumes from the fourth.
	resumed := f.stream(t, ctx, "", strconv.FormatUint(got[2].id, 10))
	again := collect(t, resumed, isOutcome)
	require.Len(t, again, len(got)-3)
	assert.Equal(t, got[3].id, again[0].id)

	// Only one cycle's events, from the start of what the kernel keeps.
	byCycle := f.stream(t, ctx, "?last_event_id=0&cycle="+got[0].event.Cycle, "")
	assert.Len(t, collect(t, byCycle, isOutcome), len(got))

	// Shutdown says so and ends the streams.
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	require.NoError(t, f.srv.Shutdown(sctx))
	rest := collect(t, all, func(e sse) bool { return e.name == kernel.EventShutdown })
	require.NotEmpty(t, rest)
	assert.Equal(t, kernel.EventShutdown, rest[len(rest)-1].name)
	_, open := <-all
	assert.False(t, open, "the stream ends after the shutdown event")
}

// A bad Last-Event-ID is a 400.
func TestEventStreamBadLastEventID(t *testing.T) {
	f := newFixture(t, kernel.Options{}, "add.jsonl")
	req, err := http.NewRequest("GET", f.http.URL+"/api/events", nil)
	require.NoError(t, err)
	req.Header.Set("Last-Event-ID", "yesterday")
	resp, err := f.http.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}
