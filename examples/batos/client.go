package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/batos-dev/batos/examples/batos/internal/kernel"
	"github.com/batos-dev/batos/psm"
)

// client asks a running kernel (--kernel URL).
type client struct {
	base  string
	token string
	http  *http.Client
}

// remoteError is an error with the body the kernel answers for it: one
// the kernel answered, or one of this command's own that kernel.Classify
// does not name (see described), which it wraps.
type remoteError struct {
	status int
	body   kernel.ErrorBody
	err    error
}

func (e *remoteError) Error() string { return e.body.Error }
func (e *remoteError) Unwrap() error { return e.err }

func (a *app) client() (*client, error) {
	u, err := url.Parse(a.kernel)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usagef("--kernel %q: want a URL such as http://127.0.0.1:8377", a.kernel)
	}
	return &client{base: strings.TrimRight(a.kernel, "/"), token: a.token, http: &http.Client{}}, nil
}

func (c *client) request(ctx context.Context, method, path string, body any) (*http.Request, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// do sends a request and decodes the JSON answer into out, or returns the
// kernel's error as a *remoteError.
func (c *client) do(ctx context.Context, method, path string, body, out any) error {
	req, err := c.request(ctx, method, path, body)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("kernel %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("kernel %s: %w", c.base, err)
	}
	if resp.StatusCode/100 != 2 {
		re := &remoteError{status: resp.StatusCode}
		if json.Unmarshal(data, &re.body) != nil || re.body.Error == "" {
			re.body = kernel.ErrorBody{Error: fmt.Sprintf("kernel answered %s", resp.Status), Kind: kernel.KindInternal}
		}
		return re
	}
	return json.Unmarshal(data, out)
}

// follow reads the kernel's event stream and hands every cycle event to fn
// until ctx ends. ready is closed once the stream is open (or failed to
// open), so the caller can send only then and miss nothing.
func (c *client) follow(ctx context.Context, query string, ready chan<- struct{}, fn func(psm.Event)) error {
	opened := false
	defer func() {
		if !opened {
			close(ready)
		}
	}()
	req, err := c.request(ctx, http.MethodGet, "/api/events?"+query, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("kernel events: %s", resp.Status)
	}
	opened = true
	close(ready)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	var name string
	var data bytes.Buffer
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if name == kernel.EventCycle {
				var e psm.Event
				if json.Unmarshal(data.Bytes(), &e) == nil {
					fn(e)
				}
			}
			name = ""
			data.Reset()
		case strings.HasPrefix(line, "event:"):
			name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
	}
	return sc.Err()
}

// waitReady waits for a stream to open, at most a few seconds.
func waitReady(ready <-chan struct{}) {
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
	}
}
