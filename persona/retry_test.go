package persona_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/persona/personatest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms"
)

// A 503 with Retry-After: 1 is retried once, a second later, and the
// observer is told the wait and the server's status.
func TestRetryAfterHonoured(t *testing.T) {
	srv := personatest.NewOpenAI(t,
		personatest.Turn{Status: http.StatusServiceUnavailable, Header: map[string]string{"Retry-After": "1"}},
		personatest.Turn{Reply: persona.Reply{Text: "back again"}})
	var attempts []persona.Attempt
	got, err := persona.Ask(context.Background(), mustModel(t, "openai:m@"+srv.URL+"/v1", persona.Options{}), persona.BRICK, "hi",
		persona.WithObserver(func(a persona.Attempt) { attempts = append(attempts, a) }))
	require.NoError(t, err)
	require.Equal(t, "back again", got)
	require.Len(t, attempts, 2, "one retry")
	first := attempts[0]
	require.True(t, first.Retry)
	require.GreaterOrEqual(t, first.Wait, time.Second, "the wait honours Retry-After")
	require.LessOrEqual(t, first.Wait, 1100*time.Millisecond, "a tenth of jitter at most")
	var he *persona.HTTPError
	require.ErrorAs(t, first.Err, &he)
	require.Equal(t, http.StatusServiceUnavailable, he.StatusCode)
	require.Equal(t, time.Second, he.RetryAfter)
	require.Equal(t, persona.Usage{PromptTokens: 12, CompletionTokens: 34}, attempts[1].Usage, "the tokens the server reported")
}

// Retries spent: the error is the last attempt's, and names how many
// attempts were made and why no more.
func TestRetriesExhausted(t *testing.T) {
	srv := personatest.NewOllama(t, personatest.Turn{Status: 502}, personatest.Turn{Status: 503}, personatest.Turn{Status: 500},
		personatest.Turn{Reply: persona.Reply{Text: "too late"}})
	_, err := persona.Ask(context.Background(), mustModel(t, "ollama:m@"+srv.URL, persona.Options{}), persona.BRICK, "hi",
		persona.WithLimits(persona.Limits{RetryBackoff: time.Millisecond}))
	var me *persona.ModelError
	require.ErrorAs(t, err, &me)
	require.Equal(t, 3, me.Attempts)
	require.ErrorIs(t, err, persona.ErrHTTPStatus)
	var he *persona.HTTPError
	require.ErrorAs(t, err, &he)
	require.Equal(t, 500, he.StatusCode, "the last attempt's status")
	require.ErrorContains(t, err, "3 attempts")
	require.ErrorContains(t, err, "no retry left (2 allowed)")
	require.Equal(t, 1, srv.Remaining(), "the fourth turn was never asked for")
}

// A reply the caller's streaming function has partly seen is not tried
// again: the caller cannot take the chunks back.
func TestNoRetryAfterStreamedChunks(t *testing.T) {
	srv := personatest.NewOpenAI(t, personatest.Turn{Reply: persona.Reply{Text: "half a reply"}, Drop: true},
		personatest.Turn{Reply: persona.Reply{Text: "never"}})
	var chunks int
	_, err := persona.Ask(context.Background(), mustModel(t, "openai:m@"+srv.URL+"/v1", persona.Options{}), persona.BRICK, "hi",
		persona.WithLimits(persona.Limits{RetryBackoff: time.Millisecond}),
		persona.WithCallOptions(llms.WithStreamingFunc(func(context.Context, []byte) error { chunks++; return nil })))
	require.ErrorIs(t, err, persona.ErrTruncated)
	require.ErrorContains(t, err, "the caller's streaming function had part of the reply")
	require.Positive(t, chunks)
	require.Equal(t, 1, srv.Remaining())
}

// Usage is read from what each client puts in GenerationInfo.
func TestUsage(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		spec func(t *testing.T) string
	}{
		{"Ollama", func(t *testing.T) string {
			return "ollama:m@" + personatest.NewOllama(t, personatest.Replies(persona.Reply{Text: "ok"})...).URL
		}},
		{"OpenAI", func(t *testing.T) string {
			return "openai:m@" + personatest.NewOpenAI(t, personatest.Replies(persona.Reply{Text: "ok"})...).URL + "/v1"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []persona.Attempt
			_, err := persona.Ask(ctx, mustModel(t, tc.spec(t), persona.Options{}), persona.BABS, "hi",
				persona.WithObserver(func(a persona.Attempt) { got = append(got, a) }))
			require.NoError(t, err)
			require.Len(t, got, 1)
			assert.Equal(t, persona.Usage{PromptTokens: 12, CompletionTokens: 34}, got[0].Usage)
			assert.Equal(t, 46, got[0].Usage.Total())
			assert.Equal(t, persona.BABS, got[0].Persona)
			assert.Equal(t, 2, got[0].Bytes)
		})
	}
	assert.Equal(t, persona.Usage{PromptTokens: 3, CompletionTokens: 4}, persona.UsageOf(&llms.ContentResponse{Choices: []*llms.ContentChoice{{
		GenerationInfo: map[string]any{"InputTokens": 3, "OutputTokens": int64(4)}}}}), "Anthropic's keys")
	assert.Zero(t, persona.UsageOf(nil))
	assert.Zero(t, persona.UsageOf(&llms.ContentResponse{Choices: []*llms.ContentChoice{{}}}), "a model that reports nothing")
}

func TestBackoff(t *testing.T) {
	l := persona.Limits{RetryBackoff: 100 * time.Millisecond, MaxRetryWait: time.Second}
	for range 50 {
		for n, want := range map[int][2]time.Duration{
			1: {50 * time.Millisecond, 100 * time.Millisecond},
			2: {100 * time.Millisecond, 200 * time.Millisecond},
			3: {200 * time.Millisecond, 400 * time.Millisecond},
			9: {500 * time.Millisecond, time.Second}, // capped at MaxRetryWait
		} {
			got := persona.Backoff(l, n, 0)
			require.True(t, got >= want[0] && got <= want[1], "retry %d: got %s, want within %s", n, got, want)
		}
		got := persona.Backoff(l, 1, 500*time.Millisecond)
		require.True(t, got >= 500*time.Millisecond && got <= 550*time.Millisecond, "Retry-After 500ms: got %s", got)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                              0,
		"0":                             0,
		"-3":                            0,
		"7":                             7 * time.Second,
		"soon":                          0,
		"Fri, 02 Jan 2026 03:04:35 GMT": 30 * time.Second,
		"Fri, 02 Jan 2026 03:00:00 GMT": 0, // in the past
	} {
		assert.Equal(t, want, persona.ParseRetryAfter(in, now), "Retry-After %q", in)
	}
}
