package personatest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batos-dev/batos/persona"
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
// failing with its sentinel, fenced code and chatty JSON being usable,
// concurrent calls, streaming, cancellation, and the plain Call method.
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
		if !errors.Is(err, want) {
			t.Fatalf("got error %v, want one matching %v", err, want)
		}
		var me *persona.ModelError
		if !errors.As(err, &me) {
			t.Fatalf("got error %T (%v), want a *persona.ModelError", err, err)
		}
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
			if err != nil {
				t.Fatalf("call %d: %v", i+1, err)
			}
			if got != want {
				t.Fatalf("call %d: got %q, want %q", i+1, got, want)
			}
		}
	})

	t.Run("SystemMessageReachesModel", func(t *testing.T) {
		m := f(t, []persona.Reply{{Expect: "codex-marker-7", Text: "ok"}})
		got, err := ask(t, m, "the prompt", persona.WithSystem("You are BRICK. codex-marker-7"))
		if err != nil || got != "ok" {
			t.Fatalf("got %q, %v; want \"ok\", nil", got, err)
		}
	})

	t.Run("DriftIsAnError", func(t *testing.T) {
		m := f(t, []persona.Reply{{Expect: "a phrase never sent", Text: "should not be returned"}})
		got, err := ask(t, m, "something else entirely")
		if err == nil {
			t.Fatalf("got %q, nil; want an error for a drifted conversation", got)
		}
		if got != "" {
			t.Fatalf("got reply %q with the error, want none", got)
		}
	})

	t.Run("ExhaustedIsAnError", func(t *testing.T) {
		m := f(t, []persona.Reply{{Text: "only one"}})
		if _, err := ask(t, m, "one"); err != nil {
			t.Fatalf("first call: %v", err)
		}
		if got, err := ask(t, m, "two"); err == nil {
			t.Fatalf("second call: got %q, nil; want an error", got)
		}
	})

	t.Run("HangEndsAtDeadline", func(t *testing.T) {
		m := f(t, []persona.Reply{{Hang: true}})
		start := time.Now()
		_, err := ask(t, m, "hello?", persona.WithTimeout(150*time.Millisecond))
		took := time.Since(start)
		wantErr(t, err, persona.ErrTimeout)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want it to match context.DeadlineExceeded too", err)
		}
		if took > 5*time.Second {
			t.Fatalf("took %s, want about 150ms", took)
		}
	})

	t.Run("DelayWithinDeadline", func(t *testing.T) {
		m := f(t, []persona.Reply{{Text: "late but fine", Delay: 60 * time.Millisecond}})
		start := time.Now()
		got, err := ask(t, m, "hello")
		if err != nil || got != "late but fine" {
			t.Fatalf("got %q, %v", got, err)
		}
		if took := time.Since(start); took < 60*time.Millisecond {
			t.Fatalf("took %s, want at least the 60ms delay", took)
		}
	})

	t.Run("HugeReply", func(t *testing.T) {
		huge := strings.Repeat("All work and no play makes BRICK a dull bot.\n", (2<<20)/45)
		m := f(t, []persona.Reply{{Text: huge}})
		got, err := ask(t, m, "write a lot", persona.WithMaxReplyBytes(1<<20))
		wantErr(t, err, persona.ErrTooLarge)
		if got != "" {
			t.Fatalf("got %d bytes with the error, want none", len(got))
		}
	})

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
			got, err := ask(t, m, "prompt")
			wantErr(t, err, tc.want)
			if got != "" {
				t.Fatalf("got reply %q with the error, want none", got)
			}
		})
	}

	t.Run("FencedCodeExtracts", func(t *testing.T) {
		code := "package m\n\nfunc hello(self batos.Self, args []any) (any, error) {\n\treturn \"hi\", nil\n}\n"
		reply := "Certainly! Here is the method:\n\n```go\n" + code + "```\n\nIt returns a greeting. Let me know if you need more."
		m := f(t, []persona.Reply{{Text: reply}})
		got, err := ask(t, m, "write hello")
		if err != nil {
			t.Fatal(err)
		}
		src, err := persona.ExtractCode(got)
		if err != nil || src != code {
			t.Fatalf("ExtractCode: got %q, %v; want %q", src, err, code)
		}
	})

	t.Run("ChattyPlanParses", func(t *testing.T) {
		reply := "Sure — three queries:\n```json\n{\"queries\": [\"greeting methods\", \"architect name slot\"]}\n```\nHope this helps!"
		m := f(t, []persona.Reply{{Text: reply}})
		got, err := ask(t, m, "plan")
		if err != nil {
			t.Fatal(err)
		}
		p, err := persona.ParsePlan(got)
		if err != nil || strings.Join(p.Queries, "|") != "greeting methods|architect name slot" {
			t.Fatalf("ParsePlan: got %q, %v", p.Queries, err)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		const n = 8
		rs := make([]persona.Reply, n)
		for i := range rs {
			rs[i] = persona.Reply{Text: "same answer"}
		}
		m := f(t, rs)
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := persona.Ask(ctx, m, persona.BABS, fmt.Sprintf("question %d", i), persona.WithTimeout(10*time.Second))
				if err == nil && got != "same answer" {
					err = fmt.Errorf("got %q, want \"same answer\"", got)
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
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
		if err != nil || got != text {
			t.Fatalf("got %q, %v; want %q", got, err, text)
		}
		mu.Lock()
		defer mu.Unlock()
		if s := strings.Join(chunks, ""); s != text {
			t.Fatalf("streamed chunks join to %q, want %q", s, text)
		}
	})

	t.Run("CancelledContext", func(t *testing.T) {
		m := f(t, []persona.Reply{{Text: "never"}})
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := persona.Ask(cctx, m, persona.ROBIN, "prompt")
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want an error matching context.Canceled", err)
		}
	})

	t.Run("CallMethod", func(t *testing.T) {
		m := f(t, []persona.Reply{{Text: "plain call"}})
		got, err := m.Call(persona.WithPersona(ctx, persona.ALFRED), "prompt")
		if err != nil || got != "plain call" {
			t.Fatalf("got %q, %v; want \"plain call\", nil", got, err)
		}
	})
}
