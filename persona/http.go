package persona

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// callState is what the guarded transport learns about one model call. It
// travels in the call's context, because the langchaingo clients swallow
// some of what goes wrong on the wire (a body cut at the cap, a 500 with
// an empty body, a done_reason they do not report).
type callState struct {
	mu       sync.Mutex
	wireMax  int64
	wire     int64
	overflow bool
	httpErr  *HTTPError
	tail     []byte // the last tailSize bytes read from the wire
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

func (st *callState) snapshot() (overflow bool, httpErr *HTTPError, wire int64, tail string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.overflow, st.httpErr, st.wire, string(st.tail)
}

func (st *callState) read(p []byte) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.wire += int64(len(p))
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
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	st := stateFrom(req.Context())
	if resp.StatusCode >= http.StatusBadRequest {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxExcerpt))
		resp.Body.Close()
		he := &HTTPError{StatusCode: resp.StatusCode, Method: req.Method, URL: req.URL.Redacted(), Body: string(body)}
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
	return resp, nil
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
