package kernel_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/batos-dev/batos/examples/batos/internal/kernel"
	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms"
)

// loadModel answers by persona and selector rather than in script order,
// for cycles that run at once: BRICK gets a plan, a synthesis prompt the
// source of a method named after the selector it asks for, answering its
// own name (add answers the sum of two integers). It counts the synthesis
// calls per selector. A selector in hang is answered only when its gate
// channel closes (never, if nil), or the call's context ends.
type loadModel struct {
	delay time.Duration // before each synthesis reply

	mu    sync.Mutex
	all   int // every call, plans included
	asked map[string]int
	hang  map[string]chan struct{}
	seen  chan string // each synthesis call's selector, if there is room
}

var loadSelector = regexp.MustCompile(`received the message "([^"]+)"`)

func newLoadModel(delay time.Duration) *loadModel {
	return &loadModel{delay: delay, asked: map[string]int{}, hang: map[string]chan struct{}{}, seen: make(chan string, 1024)}
}

// hold makes the synthesis calls for sel wait until the returned function
// is called (or their context ends).
func (m *loadModel) hold(sel string) (release func()) {
	gate := make(chan struct{})
	m.mu.Lock()
	m.hang[sel] = gate
	m.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(gate) }) }
}

func (m *loadModel) calls(sel string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.asked[sel]
}

func (m *loadModel) GenerateContent(ctx context.Context, msgs []llms.MessageContent, _ ...llms.CallOption) (*llms.ContentResponse, error) {
	reply := func(text string) *llms.ContentResponse {
		return &llms.ContentResponse{Choices: []*llms.ContentChoice{{Content: text, StopReason: "stop"}}}
	}
	m.mu.Lock()
	m.all++
	m.mu.Unlock()
	if persona.PersonaFrom(ctx) == "BRICK" {
		return reply(`{"queries": ["answering a message"]}`), nil
	}
	found := loadSelector.FindStringSubmatch(persona.PromptText(msgs))
	if found == nil {
		return reply("I do not know which method you want."), nil
	}
	sel := found[1]
	m.mu.Lock()
	m.asked[sel]++
	gate, held := m.hang[sel]
	m.mu.Unlock()
	select {
	case m.seen <- sel:
	default:
	}
	if held {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if m.delay > 0 {
		select {
		case <-time.After(m.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if sel == "add" {
		return reply("```go\npackage m\n\nimport (\n\t\"errors\"\n\n\t\"batos\"\n)\n\n// add answers the sum of its two integer arguments.\nfunc add(self batos.Self, args []any) (any, error) {\n\tif len(args) != 2 {\n\t\treturn nil, errors.New(\"add wants two integers\")\n\t}\n\ta, ok1 := args[0].(int64)\n\tb, ok2 := args[1].(int64)\n\tif !ok1 || !ok2 {\n\t\treturn nil, errors.New(\"add wants two integers\")\n\t}\n\treturn a + b, nil\n}\n```\n"), nil
	}
	return reply(fmt.Sprintf("```go\npackage m\n\nimport \"batos\"\n\n// %[1]s answers its own name.\nfunc %[1]s(self batos.Self, args []any) (any, error) {\n\treturn %[1]q, nil\n}\n```\n", sel)), nil
}

func (m *loadModel) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, m, prompt, options...)
}

// metric reads one sample of /metrics, by its name with labels as the
// text format writes them (batos_sends_total{result="ok"}).
func (f *fixture) metric(t *testing.T, sample string) float64 {
	t.Helper()
	raw := f.do(t, "GET", "/metrics", "", "").raw
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			v, err := strconv.ParseFloat(rest, 64)
			require.NoError(t, err, "sample %s", sc.Text())
			return v
		}
	}
	require.FailNow(t, "no such sample in /metrics", sample)
	return 0
}

// sends returns batos_sends_total by result.
func (f *fixture) sends(t *testing.T) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, r := range []string{"ok", "failed", "rejected", "error"} {
		out[r] = f.metric(t, `batos_sends_total{result="`+r+`"}`)
	}
	return out
}

// settled waits until no send runs or waits, and the sends counted add
// up to want.
func (f *fixture) settled(t *testing.T, want int) map[string]float64 {
	t.Helper()
	var got map[string]float64
	require.Eventually(t, func() bool {
		got = f.sends(t)
		return got["ok"]+got["failed"]+got["rejected"]+got["error"] == float64(want) &&
			f.metric(t, "batos_sends_in_flight") == 0 && f.metric(t, "batos_send_queue_depth") == 0
	}, 10*time.Second, 10*time.Millisecond, "sends %v, want %d in all", got, want)
	return got
}

// words are selectors far enough apart not to be near misses of each
// other (psm.Policy.AllowNearMisses).
var words = []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett",
	"kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango"}

// sendCtx posts a message within ctx.
func (f *fixture) sendCtx(t *testing.T, ctx context.Context, object any, selector string, args ...any) answer {
	t.Helper()
	b, err := json.Marshal(map[string]any{"object": object, "selector": selector, "args": args})
	require.NoError(t, err)
	return f.doCtx(t, ctx, "POST", "/api/send", string(b), "")
}

// 150 clients at once: installed methods, five new selectors, and one
// new selector from fifty of them. Every client gets its answer, each new
// selector costs one cycle and one synthesis, and the metrics add up.
func TestLoadManySendersShareCycles(t *testing.T) {
	model := newLoadModel(300 * time.Millisecond)
	f := newFixtureWith(t, "", kernel.Options{}, model, nil)
	require.Equal(t, http.StatusOK, f.send(t, "genesis", "add", 1, 2).status)

	const n = 150
	answers := make([]answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			switch i % 3 {
			case 0:
				answers[i] = f.send(t, "genesis", "add", i, 1)
			case 1:
				answers[i] = f.send(t, "genesis", "shared")
			default:
				answers[i] = f.send(t, "genesis", words[i%5])
			}
		})
	}
	wg.Wait()
	for i, a := range answers {
		require.Equal(t, http.StatusOK, a.status, "client %d: %s", i, a.raw)
		switch i % 3 {
		case 0:
			assert.Equal(t, float64(i+1), a.body["answer"], "client %d", i)
		case 1:
			assert.Equal(t, "shared", a.body["answer"], "client %d", i)
		default:
			assert.Equal(t, words[i%5], a.body["answer"], "client %d", i)
		}
	}
	assert.Equal(t, 1, model.calls("shared"), "fifty senders of one new selector share one synthesis")
	for k := range 5 {
		assert.Equal(t, 1, model.calls(words[k]), words[k])
	}
	cycles, err := f.mind.Cycles(context.Background())
	require.NoError(t, err)
	assert.Len(t, cycles, 7, "add, shared and five words")
	for _, c := range cycles {
		assert.Equal(t, psm.Complete, c.Outcome, "cycle %s for %s", c.ID, c.Mission.Selector)
	}
	got := f.settled(t, n+1)
	assert.Equal(t, float64(n+1), got["ok"], "%v", got)
	assert.Equal(t, float64(7), f.metric(t, `batos_cycles_total{outcome="COMPLETE"}`))
}

// With the worker busy and the queue full, every further send answers 503
// queue_full at once, with Retry-After and a message, and is counted as
// rejected; once the clients give up, nothing runs or waits any more.
func TestLoadQueueFullRejectsAndCounts(t *testing.T) {
	model := newLoadModel(0)
	release := model.hold("stuck")
	defer release()
	f := newFixtureWith(t, "", kernel.Options{Workers: 1, Queue: 4}, model, nil)
	busy, giveUp := context.WithCancel(context.Background())
	defer giveUp()
	queued, leaveQueue := context.WithCancel(context.Background())
	defer leaveQueue()

	var held sync.WaitGroup
	heldAnswers := make([]answer, 5)
	held.Go(func() { heldAnswers[0] = f.sendCtx(t, busy, "genesis", "stuck") })
	require.Eventually(t, func() bool { return f.metric(t, "batos_sends_in_flight") == 1 }, 10*time.Second, 5*time.Millisecond)
	for i := 1; i < 5; i++ {
		held.Go(func() { heldAnswers[i] = f.sendCtx(t, queued, "genesis", "stuck") })
	}
	require.Eventually(t, func() bool { return f.metric(t, "batos_send_queue_depth") == 4 }, 10*time.Second, 5*time.Millisecond)

	const extra = 60
	rejected := make([]answer, extra)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range extra {
		wg.Go(func() { rejected[i] = f.send(t, "genesis", "add", i, 1) })
	}
	wg.Wait()
	assert.Less(t, time.Since(start), 5*time.Second, "a full queue answers at once")
	for i, a := range rejected {
		require.Equal(t, http.StatusServiceUnavailable, a.status, "client %d: %s", i, a.raw)
		assert.Equal(t, kernel.KindQueueFull, a.body["kind"])
		assert.Contains(t, a.body["error"], "send queue is full (4 waiting)")
		assert.Equal(t, "1", a.header.Get("Retry-After"))
	}
	assert.Equal(t, float64(extra), f.metric(t, `batos_sends_total{result="rejected"}`))

	// The queued clients leave first; the server sees their connections
	// close (well within the pause) before the worker is free.
	leaveQueue()
	time.Sleep(200 * time.Millisecond)
	giveUp()
	held.Wait()
	got := f.settled(t, extra+5)
	// The client whose cycle was cancelled gets its cycle's failure; the
	// four that waited in the queue, their cancellation.
	assert.Equal(t, float64(1), got["failed"], "%v", got)
	assert.Equal(t, float64(4), got["error"], "%v", got)
	assert.Equal(t, 1, model.calls("stuck"), "queued sends whose clients left run no cycle")
}

// A client that leaves while it waits for a cycle does not stop it, not
// even the client whose send started it: the others get the method, from
// one synthesis. Nothing keeps running or leaks afterwards.
func TestLoadClientsLeaveMidCycle(t *testing.T) {
	model := newLoadModel(0)
	f := newFixtureWith(t, "", kernel.Options{}, model, nil)
	require.Equal(t, http.StatusOK, f.send(t, "genesis", "add", 1, 2).status)
	require.Equal(t, "add", <-model.seen)
	f.http.Client().CloseIdleConnections()
	baseline := runtime.NumGoroutine()

	t.Run("a waiter leaves", func(t *testing.T) {
		release := model.hold("shared")
		defer release()
		var wg sync.WaitGroup
		leader := make(chan answer, 1)
		wg.Go(func() { leader <- f.send(t, "genesis", "shared") })
		require.Equal(t, "shared", <-model.seen)
		leaving, leave := context.WithCancel(context.Background())
		defer leave()
		for range 10 {
			wg.Go(func() { f.sendCtx(t, leaving, "genesis", "shared") })
		}
		staying := make([]answer, 10)
		for i := range staying {
			wg.Go(func() { staying[i] = f.send(t, "genesis", "shared") })
		}
		require.Eventually(t, func() bool { return f.metric(t, "batos_sends_in_flight") == 16 }, 10*time.Second, 5*time.Millisecond)
		leave()
		time.Sleep(50 * time.Millisecond)
		release()
		wg.Wait()
		a := <-leader
		require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
		for i, a := range staying {
			require.Equal(t, http.StatusOK, a.status, "client %d: %s", i, a.raw)
			assert.Equal(t, "shared", a.body["answer"])
		}
		assert.Equal(t, 1, model.calls("shared"), "clients that left did not end the cycle")
	})

	t.Run("the first client leaves", func(t *testing.T) {
		release := model.hold("again")
		var wg sync.WaitGroup
		first, leave := context.WithCancel(context.Background())
		defer leave()
		wg.Go(func() { f.sendCtx(t, first, "genesis", "again") })
		require.Equal(t, "again", <-model.seen)
		staying := make([]answer, 20)
		for i := range staying {
			wg.Go(func() { staying[i] = f.send(t, "genesis", "again") })
		}
		require.Eventually(t, func() bool { return f.metric(t, "batos_sends_in_flight") == 16 }, 10*time.Second, 5*time.Millisecond)
		leave()
		// The cycle goes on for the clients still waiting: the model is
		// not asked again.
		time.Sleep(50 * time.Millisecond)
		release()
		wg.Wait()
		for i, a := range staying {
			require.Equal(t, http.StatusOK, a.status, "client %d: %s", i, a.raw)
			assert.Equal(t, "again", a.body["answer"])
		}
		assert.Equal(t, 1, model.calls("again"), "the first client leaving did not end the cycle")
	})

	got := f.settled(t, 1+21+21)
	assert.Equal(t, float64(1+11+20), got["ok"], "%v", got)
	assert.Equal(t, float64(11), got["error"], "the clients that left: %v", got)
	f.http.Client().CloseIdleConnections()
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= baseline+2 }, 10*time.Second, 20*time.Millisecond,
		"goroutines: %d, %d before", runtime.NumGoroutine(), baseline)
}

// Malformed, oversized and never-ending bodies, among good sends: each bad
// one gets its status and kind, none holds a worker, and the counts add up.
func TestLoadBadBodiesAmongGoodSends(t *testing.T) {
	model := newLoadModel(0)
	f := newFixtureWith(t, "", kernel.Options{Workers: 2, MaxBody: 1024}, model, nil)
	require.Equal(t, http.StatusOK, f.send(t, "genesis", "add", 1, 2).status)

	// Bodies that never end: the handlers wait for them, not the workers.
	var stalled []*io.PipeWriter
	for range 4 {
		pr, pw := io.Pipe()
		stalled = append(stalled, pw)
		req, err := http.NewRequest("POST", f.http.URL+"/api/send", pr)
		require.NoError(t, err)
		go func() {
			resp, err := f.http.Client().Do(req)
			if err == nil {
				resp.Body.Close()
			}
		}()
		_, err = pw.Write([]byte(`{"object":"genesis","selector":`))
		require.NoError(t, err)
	}

	bad := []struct {
		body   string
		status int
		kind   string
	}{
		{`{"object":`, 400, kernel.KindBadRequest},
		{`not json at all`, 400, kernel.KindBadRequest},
		{`{"object":"genesis","selector":"add","extra":1}`, 400, kernel.KindBadRequest},
		{`{"object":"genesis","selector":"a\u0007b"}`, 400, kernel.KindBadRequest},
		{`{"object":"genesis","selector":"add","args":["` + strings.Repeat("x", 2000) + `"]}`, 413, kernel.KindTooLarge},
		{`{"object":"nobody","selector":"add"}`, 404, kernel.KindNotFound},
	}
	const n = 120
	answers := make([]answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if i%2 == 0 {
				answers[i] = f.send(t, "genesis", "add", i, 1)
				return
			}
			answers[i] = f.do(t, "POST", "/api/send", bad[i/2%len(bad)].body, "")
		})
	}
	wg.Wait()
	notFound := 0
	for i, a := range answers {
		if i%2 == 0 {
			require.Equal(t, http.StatusOK, a.status, "client %d: %s", i, a.raw)
			assert.Equal(t, float64(i+1), a.body["answer"])
			continue
		}
		b := bad[i/2%len(bad)]
		require.Equal(t, b.status, a.status, "client %d (%.40s): %s", i, b.body, a.raw)
		assert.Equal(t, b.kind, a.body["kind"], "client %d", i)
		assert.NotEmpty(t, a.body["error"])
		if b.status == 404 {
			notFound++
		}
	}
	for _, pw := range stalled {
		pw.CloseWithError(io.ErrUnexpectedEOF)
	}
	got := f.settled(t, 1+n+len(stalled))
	assert.Equal(t, float64(1+n/2), got["ok"], "%v", got)
	// A receiver that does not exist is found out by a worker: not a
	// rejection but an error, like every send that ran and failed.
	assert.Equal(t, float64(n/2-notFound+len(stalled)), got["rejected"], "%v", got)
	assert.Equal(t, float64(notFound), got["error"], "%v", got)
}

// smallBuffers is a listener whose connections have small send buffers,
// so that a client that stops reading stalls the kernel's writes soon.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
	}
	return c, err
}

// stalledStream opens GET /api/events and never reads from it.
func stalledStream(t *testing.T, f *fixture) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048) })
		return errors.Join(err, serr)
	}}
	c, err := d.Dial("tcp", f.http.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	_, err = fmt.Fprintf(c, "GET /api/events HTTP/1.1\r\nHost: kernel\r\n\r\n")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return f.metric(t, "batos_event_streams") == 1 }, 5*time.Second, 5*time.Millisecond)
	return c
}

// A client that stops reading its event stream while many events flow is
// dropped: cycles go on at full speed, the drop is counted, and the
// stream's handler ends without waiting for the client to read or hang up,
// so the stream is no longer counted open and a shutdown does not wait for
// it.
func TestLoadStalledEventStreamIsDropped(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	model := newLoadModel(0)
	f := newFixtureWith(t, "", kernel.Options{StreamBuffer: 32, StreamWriteTimeout: 300 * time.Millisecond}, model, smallBuffers{ln})
	stalledStream(t, f) // stops reading at once; its writes stall once the buffers fill

	start := time.Now()
	var wg sync.WaitGroup
	answers := make([]answer, 40)
	for i := range answers {
		wg.Go(func() { answers[i] = f.send(t, "genesis", words[i%20]) })
	}
	wg.Wait()
	for i, a := range answers {
		require.Equal(t, http.StatusOK, a.status, "client %d: %s", i, a.raw)
	}
	assert.Less(t, time.Since(start), 20*time.Second)
	assert.GreaterOrEqual(t, f.metric(t, "batos_event_streams_dropped_total"), float64(1))
	require.Eventually(t, func() bool { return f.metric(t, "batos_event_streams") == 0 }, 5*time.Second, 10*time.Millisecond,
		"the dropped stream's handler still waits for its client")

	stalledStream(t, f) // one that stalls before anything flows
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, f.srv.Shutdown(ctx))
	f.http.Config.SetKeepAlivesEnabled(false)
	done := make(chan error, 1)
	go func() { done <- f.http.Config.Shutdown(ctx) }()
	select {
	case err := <-done:
		require.NoError(t, err, "the HTTP server waited for a stalled event stream")
	case <-time.After(3 * time.Second):
		require.FailNow(t, "the HTTP server's shutdown waits for a stalled event stream")
	}
}

// SIGTERM's path under load: sends of installed methods, cycles that
// finish within the grace period and cycles that do not, sends still
// queued. Shutdown returns soon after the grace period; every client gets
// its answer or 503 shutting_down; the image, reopened, holds exactly the
// methods whose cycles completed, and every cycle's record is closed.
func TestLoadShutdownWhileBusy(t *testing.T) {
	dir := t.TempDir()
	model := newLoadModel(0)
	releaseStuck := model.hold("stuck")
	defer releaseStuck()
	releaseQuick := model.hold("quick")
	f := newFixtureWith(t, dir, kernel.Options{Workers: 8, Queue: 64}, model, nil)
	require.Equal(t, http.StatusOK, f.send(t, "genesis", "add", 1, 2).status)

	type sent struct {
		sel string
		a   answer
	}
	var wg sync.WaitGroup
	results := make([]sent, 60)
	for i := range results {
		sel := []string{"add", "quick", "stuck", words[i%3]}[i%4]
		if i%4 == 3 {
			model.hold(sel)
		}
		results[i].sel = sel
		wg.Go(func() {
			if sel == "add" {
				results[i].a = f.send(t, "genesis", "add", i, 1)
				return
			}
			results[i].a = f.send(t, "genesis", sel)
		})
	}
	require.Eventually(t, func() bool { return f.metric(t, "batos_sends_in_flight") == 8 }, 10*time.Second, 5*time.Millisecond)

	grace, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	go func() {
		time.Sleep(100 * time.Millisecond)
		releaseQuick() // the cycle for quick completes within the grace period
	}()
	start := time.Now()
	err := f.srv.Shutdown(grace)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second, "shutdown took %s", time.Since(start))
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(5 * time.Second):
		require.FailNow(t, "clients still wait after shutdown")
	}
	late := f.send(t, "genesis", "add", 1, 1)
	assert.Equal(t, http.StatusServiceUnavailable, late.status, "%s", late.raw)

	completed := map[string]bool{"add": true}
	for i, r := range results {
		switch r.a.status {
		case http.StatusOK:
			assert.NotEqual(t, "stuck", r.sel, "client %d", i)
			completed[r.sel] = true
		case http.StatusServiceUnavailable:
			assert.Equal(t, kernel.KindShuttingDown, r.a.body["kind"], "client %d: %s", i, r.a.raw)
			assert.NotEmpty(t, r.a.body["error"])
		default:
			assert.Fail(t, "neither an answer nor shutting_down", "client %d (%s): %d %s", i, r.sel, r.a.status, r.a.raw)
		}
	}
	require.NoError(t, f.mind.Close())

	// Reopen the image: every record closed, a method for each completed
	// cycle and none for the others.
	again := newFixtureWith(t, dir, kernel.Options{}, newLoadModel(0), nil)
	cycles, err := again.mind.Cycles(context.Background())
	require.NoError(t, err)
	require.NotEmpty(t, cycles)
	for _, c := range cycles {
		assert.Contains(t, []psm.State{psm.Complete, psm.Failed}, c.Outcome, "cycle %s for %s left open", c.ID, c.Mission.Selector)
		assert.False(t, c.Ended.IsZero(), "cycle %s", c.ID)
		if c.Outcome == psm.Complete {
			assert.True(t, completed[c.Mission.Selector], "cycle %s for %s completed but no client was answered", c.ID, c.Mission.Selector)
		}
	}
	for _, sel := range []string{"add", "quick", "stuck", words[0], words[1], words[2]} {
		a := again.do(t, "GET", "/api/objects/genesis/methods/"+sel, "", "")
		if completed[sel] {
			assert.Equal(t, http.StatusOK, a.status, "%s: %s", sel, a.raw)
		} else {
			assert.Equal(t, http.StatusNotFound, a.status, "%s: %s", sel, a.raw)
		}
	}
}

// A selector no method can have (a method is named after its selector, a
// Go identifier), sent by many clients at once, answers 400 bad_request
// naming it, without a cycle or a model call; a data slot of such a name
// still answers.
func TestLoadSelectorNoMethodCanHave(t *testing.T) {
	model := newLoadModel(0)
	f := newFixtureWith(t, "", kernel.Options{}, model, nil)
	require.NoError(t, f.mind.Image().Update(context.Background(), func(tx *uvm.Tx) error {
		o, err := tx.Object(f.mind.Genesis())
		if err != nil {
			return err
		}
		return o.Set("my slot", "kept")
	}))
	sels := []string{"get-name", "no spaces please", "1st", "say:", "a.b"}
	answers := make([]answer, 50)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() { answers[i] = f.send(t, "genesis", sels[i%len(sels)]) })
	}
	wg.Wait()
	for i, a := range answers {
		sel := sels[i%len(sels)]
		require.Equal(t, http.StatusBadRequest, a.status, "%q: %s", sel, a.raw)
		assert.Equal(t, kernel.KindBadRequest, a.body["kind"])
		assert.Contains(t, a.body["error"], strconv.Quote(sel))
		assert.Contains(t, a.body["error"], "object 3")
		assert.Contains(t, a.body["error"], "Go identifier")
	}
	model.mu.Lock()
	calls := model.all
	model.mu.Unlock()
	assert.Zero(t, calls, "no model call for a selector no method can have")
	cycles, err := f.mind.Cycles(context.Background())
	require.NoError(t, err)
	assert.Empty(t, cycles)

	a := f.send(t, "genesis", "my slot")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	assert.Equal(t, "kept", a.body["answer"])
}
