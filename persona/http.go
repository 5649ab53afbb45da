package persona

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"
)

// callState is what the guarded transport learns about one model call. It
// travels in the call's context, because the langchaingo clients swallow
// some of what goes wrong on the wire (a body cut at the cap, a 500 with
// an empty body, a done_reason they do not report).
type callState struct {
	mu        sync.Mutex
	wireMax   int64
	sse       bool // the call streams server-sent events (OpenAI's protocol)
	wire      int64
	overflow  bool
	httpErr   *HTTPError
	dropped   error  // the connection failed after the response began
	malformed string // what was wrong with a response the client cannot read
	tail      []byte // the last tailSize bytes read from the wire

	// The stall watch: armed when the guarded transport sends the
	// request, reset by every byte that arrives.
	stall   time.Duration // <= 0: no watch
	onStall func()        // ends the attempt
	timer   *time.Timer
	ended   bool // the attempt is over: the watch must not fire
	stalled bool
}

// progress (re)starts the stall watch: the server just did something.
func (st *callState) progress() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.progressLocked()
}

func (st *callState) progressLocked() {
	if st.stall <= 0 || st.ended {
		return
	}
	if st.timer == nil {
		st.timer = time.AfterFunc(st.stall, st.fire)
		return
	}
	st.timer.Reset(st.stall)
}

func (st *callState) fire() {
	st.mu.Lock()
	if st.ended || st.stalled {
		st.mu.Unlock()
		return
	}
	st.stalled = true
	f := st.onStall
	st.mu.Unlock()
	if f != nil {
		f()
	}
}

// finish stops the stall watch for good.
func (st *callState) finish() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.ended = true
	if st.timer != nil {
		st.timer.Stop()
	}
}

const tailSize = 1 << 10

type stateKey struct{}

func withState(ctx context.Context, st *callState) context.Context {
	return context.WithValue(ctx, stateKey{}, st)
}

func stateFrom(ctx context.Context) *callState {
	st, _ := ctx.Value(stateKey{}).(*callState)
	return st
}

func (st *callState) setHTTP(e *HTTPError) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.httpErr == nil {
		st.httpErr = e
	}
}

func (st *callState) setOverflow() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.overflow = true
}

func (st *callState) setDropped(err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.dropped == nil {
		st.dropped = err
	}
}

func (st *callState) setMalformed(why string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.malformed = why
}

// wireFacts is what the transport learnt about one attempt.
type wireFacts struct {
	overflow  bool
	httpErr   *HTTPError
	dropped   error
	malformed string
	stalled   bool
	wire      int64
	tail      string
}

func (st *callState) snapshot() wireFacts {
	st.mu.Lock()
	defer st.mu.Unlock()
	return wireFacts{st.overflow, st.httpErr, st.dropped, st.malformed, st.stalled, st.wire, string(st.tail)}
}

func (st *callState) read(p []byte) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.wire += int64(len(p))
	if len(p) > 0 {
		st.progressLocked()
	}
	st.tail = append(st.tail, p...)
	if len(st.tail) > 2*tailSize {
		st.tail = append(st.tail[:0], st.tail[len(st.tail)-tailSize:]...)
	}
}

// guardTransport turns HTTP statuses of 400 or more into *HTTPError and
// caps the bytes read from each response.
type guardTransport struct {
	base    http.RoundTripper
	wireMax int64
}

func guardedClient(base *http.Client, wireMax int64) *http.Client {
	c := &http.Client{}
	if base != nil {
		*c = *base //nolint:govet // copying the settings, not a lock
	}
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	c.Transport = &guardTransport{base: rt, wireMax: wireMax}
	return c
}

func (t *guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	st := stateFrom(req.Context())
	if st != nil {
		st.progress() // the watch starts with the request
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		if st != nil && req.Context().Err() == nil && connectionLost(err) {
			st.setDropped(&dropError{err: err})
		}
		return nil, err
	}
	if st != nil {
		st.progress() // the headers arrived
	}
	if resp.StatusCode >= http.StatusBadRequest {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxExcerpt))
		resp.Body.Close()
		he := &HTTPError{StatusCode: resp.StatusCode, Method: req.Method, URL: req.URL.Redacted(), Body: string(body),
			RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
		if st != nil {
			st.setHTTP(he)
		}
		return nil, he
	}
	limit := t.wireMax
	if st != nil && st.wireMax > 0 {
		limit = st.wireMax
	}
	resp.Body = &meteredBody{rc: resp.Body, max: limit, st: st}
	if st != nil && st.sse && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body = sseFromJSON(resp.Body, st)
	}
	return resp, nil
}

// sseFromJSON serves a server that answers a streaming request with one
// JSON document (it ignores "stream": true): the document is read whole
// and replayed as the events a streaming server would have sent. A body
// that is no chat completion is reported as malformed.
func sseFromJSON(body io.ReadCloser, st *callState) io.ReadCloser {
	defer body.Close()
	data, err := io.ReadAll(body)
	if err != nil {
		return errBody{err}
	}
	if t := bytes.TrimLeft(data, " \t\r\n"); bytes.HasPrefix(t, []byte("data:")) || bytes.HasPrefix(t, []byte(":")) ||
		bytes.HasPrefix(t, []byte("event:")) {
		return io.NopCloser(bytes.NewReader(data)) // events under another Content-Type
	}
	var doc struct {
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
			FinishReason *string `json:"finish_reason"`
		} `json:"choices"`
		Usage json.RawMessage `json:"usage"`
	}
	if err := json.Unmarshal(data, &doc); err != nil || len(doc.Choices) == 0 {
		st.setMalformed(fmt.Sprintf("the server answered a streaming request with neither events nor a chat completion (%d bytes)", len(data)))
		return io.NopCloser(strings.NewReader(""))
	}
	var b bytes.Buffer
	event := func(v any) {
		j, _ := json.Marshal(v)
		fmt.Fprintf(&b, "data: %s\n\n", j)
	}
	c := doc.Choices[0]
	event(map[string]any{"choices": []any{map[string]any{"index": 0,
		"delta": map[string]any{"role": "assistant", "content": c.Message.Content}, "finish_reason": c.FinishReason}}})
	if len(doc.Usage) > 0 && string(doc.Usage) != "null" {
		event(map[string]any{"choices": []any{}, "usage": doc.Usage})
	}
	b.WriteString("data: [DONE]\n\n")
	return io.NopCloser(&b)
}

// errBody is a response body whose every read fails with err.
type errBody struct{ err error }

func (e errBody) Read([]byte) (int, error) { return 0, e.err }
func (e errBody) Close() error             { return nil }

// dropError is a connection that failed after it was established: reset
// by the peer, or closed before the response was complete.
type dropError struct {
	after int64 // bytes of the response read before it failed
	err   error
}

func (e *dropError) Error() string {
	if e.after == 0 {
		return fmt.Sprintf("the connection was lost before the response: %v", e.err)
	}
	return fmt.Sprintf("the connection was lost after %d bytes of the response: %v", e.after, e.err)
}

func (e *dropError) Unwrap() error { return e.err }

// connectionLost reports whether err is an established connection that
// failed (a reset, or the server closing it before answering), as opposed
// to one that could not be made (refused, no such host).
func connectionLost(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// meteredBody counts what is read, keeps the tail for the call state and
// fails with ErrTooLarge past max bytes.
type meteredBody struct {
	rc   io.ReadCloser
	max  int64
	n    int64
	st   *callState
	done bool
}

func (b *meteredBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, fmt.Errorf("%w: more than %d bytes from the server", ErrTooLarge, b.max)
	}
	if room := b.max - b.n + 1; b.max > 0 && int64(len(p)) > room {
		p = p[:room] // read one byte past the cap, to know it was passed
	}
	n, err := b.rc.Read(p)
	b.n += int64(n)
	if b.st != nil {
		b.st.read(p[:n])
		if err != nil && err != io.EOF {
			// The connection failed under the response: the clients do
			// not always say so (Ollama's keeps what it had).
			b.st.setDropped(&dropError{after: b.n, err: err})
		}
	}
	if b.max > 0 && b.n > b.max {
		b.done = true
		if b.st != nil {
			b.st.setOverflow()
		}
		return n - int(b.n-b.max), fmt.Errorf("%w: more than %d bytes from the server", ErrTooLarge, b.max)
	}
	return n, err
}

func (b *meteredBody) Close() error { return b.rc.Close() }

// unwrapDoer hands the clients that take a Doer (openai, anthropic) our
// typed errors unwrapped: openai's client replaces any net.Error, which
// *url.Error is, by a generic message.
type unwrapDoer struct{ c *http.Client }

func (d unwrapDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.c.Do(req)
	if err != nil {
		var he *HTTPError
		if errors.As(err, &he) {
			return nil, he
		}
		return nil, err
	}
	return resp, nil
}
