package persona

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/tmc/langchaingo/llms"
)

// Attempt reports one attempt of a guarded model call to an [Observer]:
// one request the model received. A caller counts model calls and tokens
// from attempts, and records the retries (Retry set).
type Attempt struct {
	Persona string        // the persona the call was made for
	Model   string        // the model, as [Router.Describe] names it
	N       int           // the attempt's number within its call, from 1
	Took    time.Duration // from the attempt's start to its verdict
	Usage   Usage         // the tokens the model reported; zero when it reports none or the attempt failed
	Bytes   int           // the reply's length, when the attempt succeeded
	Err     error         // nil when the attempt gave a usable reply, else its *ModelError
	Retry   bool          // another attempt of the call follows
	Wait    time.Duration // the wait before it: the server's Retry-After, or backoff with jitter
}

// Observer is told about each attempt of a call as it ends, on the
// calling goroutine, before the wait for a retry. See [WithObserver].
type Observer func(Attempt)

// Usage is what a model reported a call cost, in tokens.
type Usage struct {
	PromptTokens     int // the prompt's tokens (input)
	CompletionTokens int // the reply's tokens (output)
}

// Total returns PromptTokens + CompletionTokens.
func (u Usage) Total() int { return u.PromptTokens + u.CompletionTokens }

// UsageOf reads the tokens a langchaingo response reports in its first
// choice's GenerationInfo: PromptTokens and CompletionTokens (OpenAI,
// Ollama), InputTokens and OutputTokens (Anthropic). Zero fields mean the
// model did not say.
func UsageOf(resp *llms.ContentResponse) Usage {
	if resp == nil || len(resp.Choices) == 0 || resp.Choices[0] == nil {
		return Usage{}
	}
	info := resp.Choices[0].GenerationInfo
	return Usage{
		PromptTokens:     intField(info, "PromptTokens", "InputTokens"),
		CompletionTokens: intField(info, "CompletionTokens", "OutputTokens"),
	}
}

func intField(info map[string]any, keys ...string) int {
	for _, k := range keys {
		switch v := info[k].(type) {
		case int:
			return v
		case int32:
			return int(v)
		case int64:
			return int(v)
		case float64:
			return int(v)
		}
	}
	return 0
}

// notRetryable is retryWait's reason for a failure that no attempt can
// mend; unlike its other reasons it is not added to the error's detail.
const notRetryable = "not retryable"

// retryable reports whether a failed attempt may be tried again: an HTTP
// 429 or 5xx (but 501 and 505, which a retry does not change), a lost
// connection, an empty reply. after is the wait the server asked for.
func retryable(me *ModelError) (ok bool, after time.Duration) {
	var he *HTTPError
	var d *dropError
	switch {
	case me.Kind == ErrEmptyReply:
		return true, 0
	case me.Kind == ErrHTTPStatus && errors.As(me.Err, &he):
		s := he.StatusCode
		return s == http.StatusTooManyRequests || s >= 500 && s != http.StatusNotImplemented &&
			s != http.StatusHTTPVersionNotSupported, he.RetryAfter
	case errors.As(me.Err, &d):
		return true, 0
	}
	return false, 0
}

// retryWait decides whether attempt n, which failed with me, is tried
// again: it returns the wait before the next attempt and "", or why not.
func (g *guarded) retryWait(ctx context.Context, me *ModelError, n int, streamed bool) (time.Duration, string) {
	ok, after := retryable(me)
	switch {
	case !ok:
		return 0, notRetryable
	case n > g.lim.MaxRetries:
		if g.lim.MaxRetries <= 0 {
			return 0, notRetryable
		}
		return 0, fmt.Sprintf("no retry left (%d allowed)", g.lim.MaxRetries)
	case streamed:
		return 0, "not retried: the caller's streaming function had part of the reply"
	}
	if after > g.lim.MaxRetryWait {
		return 0, fmt.Sprintf("not retried: the server asks to wait %s, more than %s", after, g.lim.MaxRetryWait)
	}
	wait := g.lim.backoff(n, after)
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= wait {
		return 0, fmt.Sprintf("not retried: a wait of %s would pass the deadline", wait.Round(time.Millisecond))
	}
	return wait, ""
}

// backoff returns the wait before retry n (from 1): the server's
// Retry-After with up to a tenth more, or RetryBackoff doubled n-1 times
// (at most MaxRetryWait) with jitter, between half and all of it.
func (l Limits) backoff(n int, after time.Duration) time.Duration {
	if after > 0 {
		return min(after+rand.N(after/10+1), l.MaxRetryWait)
	}
	d := l.RetryBackoff << min(n-1, 20)
	if d <= 0 || d > l.MaxRetryWait {
		d = l.MaxRetryWait
	}
	return d/2 + rand.N(d/2+1)
}

// parseRetryAfter reads a Retry-After header: seconds, or an HTTP date.
// Zero means none (or one in the past).
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, 1<<20)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
