package personatest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms"
)

// Factory builds a fresh model that answers the given replies in order
// (through whatever it wraps: a scripted model, a langchaingo client
// talking to a fake server, …). It may use t for cleanup.
type Factory func(t *testing.T, replies []persona.Reply) llms.Model

// Run is the conformance suite for a model as batos uses it: through
// [persona.Ask], which must turn every bad outcome into a typed error.
// It checks replies in order, the system message reaching the model,
// drift and exhaustion surfacing as errors, a hang ending at the
// deadline, a huge, empty, whitespace, token-limited or open-fenced reply
// failing with its sentinel, an empty reply retried, fenced code and chatty JSON being usable,
// concurrent calls, streaming, cancellation, and a single-prompt call
// without a guard (llms.GenerateFromSinglePrompt).
// Each case builds its own model with f.
func Run(t *testing.T, f Factory) {
	t.Helper()
	ctx := context.Background()
	ask := func(t *testing.T, m llms.Model, prompt string, opts ...persona.AskOption) (string, error) {
		t.Helper()
		return persona.Ask(ctx, m, persona.BRICK, prompt, append([]persona.AskOption{persona.WithTimeout(10 * time.Second)}, opts...)...)
	}
	wantErr := func(t *testing.T, err, want error) {
		t.Helper()
		require.ErrorIs(t, err, want)
		var me *persona.ModelError
		require.ErrorAs(t, err, &me, "got %T, want a *persona.ModelError", err)
	}

	t.Run("RepliesInOrder", func(t *testing.T) {
		texts := []string{"first reply", "second reply", "third — with “unicode”, \"quotes\", \\backslashes\\ and\nnewlines\t."}
		var rs []persona.Reply
		for _, s := range texts {
			rs = append(rs, persona.Reply{Text: s})
		}
		m := f(t, rs)
		for i, want := range texts {
			got, err := ask(t, m, fmt.Sprintf("prompt %d", i+1))
			require.NoError(t, err, "call %d", i+1)
			require.Equal(t, want, got, "call %d", i+1)
		}
	})

	t.Run("SystemMessageReachesModel", func(t *testing.T) {
		m := f(t, []persona.Reply{{Expect: "codex-marker-7", Text: "ok"}})
		got, err := ask(t, m, "the prompt", persona.WithSystem("You are BRICK. codex-marker-7"))
		require.NoError(t, err)
		require.Equal(t, "ok", got)
	})

	t.Run("DriftIsAnError", func(t *testing.T) {
		m := f(t, []persona.Reply{{Expect: "a phrase never sent", Text: "should not be returned"}})
		got, err := ask(t, m, "something else entirely")
		require.Error(t, err, "a drifted conversation")
		require.Empty(t, got, "no reply with the error")
	})

	t.Run("ExhaustedIsAnError", func(t *testing.T) {
		m := f(t, []persona.Reply{{Text: "only one"}})
		_, err := ask(t, m, "one")
		require.NoError(t, err, "first call")
		got, err := ask(t, m, "two")
		require.Error(t, err, "second call: got %q", got)
	})

	t.Run("HangEndsAtDeadline", func(t *testing.T) {
		m := f(t, []persona.Reply{{Hang: true}})
		start := time.Now()
		_, err := ask(t, m, "hello?", persona.WithTimeout(150*time.Millisecond))
		took := time.Since(start)
		wantErr(t, err, persona.ErrTimeout)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.LessOrEqual(t, took, 5*time.Second, "want about 150ms")
	})

	t.Run("DelayWithinDeadline", func(t *testing.T) {
		m := f(t, []persona.Reply{{Text: "late but fine", Delay: 60 * time.Millisecond}})
		start := time.Now()
		got, err := ask(t, m, "hello")
		require.NoError(t, err)
		require.Equal(t, "late but fine", got)
		require.GreaterOrEqual(t, time.Since(start), 60*time.Millisecond, "at least the 60ms delay")
	})

	t.Run("HugeReply", func(t *testing.T) {
		huge := strings.Repeat("All work and no play makes BRICK a dull bot.\n", (2<<20)/45)
		m := f(t, []persona.Reply{{Text: huge}})
		got, err := ask(t, m, "write a lot", persona.WithMaxReplyBytes(1<<20))
		wantErr(t, err, persona.ErrTooLarge)
		require.Empty(t, got, "no reply with the error")
	})

	// One attempt each: a retry would take the next reply.
	for _, tc := range []struct {
		name  string
		reply persona.Reply
		want  error
	}{
		{"EmptyReply", persona.Reply{Text: "", StopReason: "stop"}, persona.ErrEmptyReply},
		{"WhitespaceReply", persona.Reply{Text: " \n\t \n"}, persona.ErrEmptyReply},
		{"TokenLimit", persona.Reply{Text: "func f() {\n\treturn", StopReason: "length"}, persona.ErrTruncated},
		{"OpenFence", persona.Reply{Text: "Here it is:\n```go\npackage m\n\nfunc f(self batos.Self, args []any) (any, error) {\n"}, persona.ErrTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := f(t, []persona.Reply{tc.reply})
			got, err := ask(t, m, "prompt", persona.WithRetries(0))
			wantErr(t, err, tc.want)
			require.Empty(t, got, "no reply with the error")
		})
	}

	t.Run("EmptyReplyRetried", func(t *testing.T) {
		m := f(t, []persona.Reply{{Text: " \n"}, {Text: "second thoughts"}})
		var attempts []persona.Attempt
		got, err := ask(t, m, "prompt", persona.WithLimits(persona.Limits{RetryBackoff: time.Millisecond}),
			persona.WithObserver(func(a persona.Attempt) { attempts = append(attempts, a) }))
		require.NoError(t, err)
		require.Equal(t, "second thoughts", got)
		require.Len(t, attempts, 2, "attempts observed")
		require.ErrorIs(t, attempts[0].Err, persona.ErrEmptyReply, "the first attempt")
		require.True(t, attempts[0].Retry, "the first attempt is retried")
		require.NoError(t, attempts[1].Err, "the second attempt")
		require.False(t, attempts[1].Retry, "nothing after the second")
	})

	t.Run("FencedCodeExtracts", func(t *testing.T) {
		code := "package m\n\nfunc hello(self batos.Self, args []any) (any, error) {\n\treturn \"hi\", nil\n}\n"
		reply := "Certainly! Here is the method:\n\n```go\n" + code + "```\n\nIt returns a greeting. Let me know if you need more."
		m := f(t, []persona.Reply{{Text: reply}})
		got, err := ask(t, m, "write hello")
		require.NoError(t, err)
		src, err := persona.ExtractCode(got)
		require.NoError(t, err, "ExtractCode")
		require.Equal(t, code, src, "ExtractCode")
	})

	t.Run("ChattyPlanParses", func(t *testing.T) {
		reply := "Sure — three queries:\n```json\n{\"queries\": [\"greeting methods\", \"architect name slot\"]}\n```\nHope this helps!"
		m := f(t, []persona.Reply{{Text: reply}})
		got, err := ask(t, m, "plan")
		require.NoError(t, err)
		p, err := persona.ParsePlan(got)
		require.NoError(t, err, "ParsePlan")
		require.Equal(t, []string{"greeting methods", "architect name slot"}, p.Queries, "ParsePlan")
	})

	t.Run("Concurrent", func(t *testing.T) {
		const n = 8
		rs := make([]persona.Reply, n)
		for i := range rs {
			rs[i] = persona.Reply{Text: "same answer"}
		}
		m := f(t, rs)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := persona.Ask(ctx, m, persona.BABS, fmt.Sprintf("question %d", i), persona.WithTimeout(10*time.Second))
				if assert.NoError(t, err, "question %d", i) {
					assert.Equal(t, "same answer", got, "question %d", i)
				}
			}()
		}
		wg.Wait()
	})

	t.Run("Streaming", func(t *testing.T) {
		text := strings.Repeat("streamed words, ", 40) + "the end"
		m := f(t, []persona.Reply{{Text: text}})
		var mu sync.Mutex
		var chunks []string
		got, err := ask(t, m, "stream it", persona.WithCallOptions(llms.WithStreamingFunc(func(_ context.Context, b []byte) error {
			mu.Lock()
			defer mu.Unlock()
			chunks = append(chunks, string(b))
			return nil
		})))
		require.NoError(t, err)
		require.Equal(t, text, got)
		mu.Lock()
		defer mu.Unlock()
		require.Equal(t, text, strings.Join(chunks, ""), "the streamed chunks joined")
	})

	t.Run("CancelledContext", func(t *testing.T) {
		m := f(t, []persona.Reply{{Text: "never"}})
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := persona.Ask(cctx, m, persona.ROBIN, "prompt")
		require.ErrorIs(t, err, context.Canceled)
	})

	t.Run("SinglePrompt", func(t *testing.T) {
		m := f(t, []persona.Reply{{Text: "plain call"}})
		got, err := llms.GenerateFromSinglePrompt(persona.WithPersona(ctx, persona.ALFRED), m, "prompt")
		require.NoError(t, err)
		require.Equal(t, "plain call", got)
	})
}
