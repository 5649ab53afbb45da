package persona

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/llms/anthropic"
	"github.com/tmc/langchaingo/llms/ollama"
	"github.com/tmc/langchaingo/llms/openai"
)

type personaKey struct{}

// WithPersona returns a context that says which persona a model call is
// made for. [Guard] sets it; a [Scripted] model reads it to check that a
// reply goes to the persona it was written for.
func WithPersona(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, personaKey{}, canon(name))
}

// PersonaFrom returns the persona set by [WithPersona], or "".
func PersonaFrom(ctx context.Context) string {
	s, _ := ctx.Value(personaKey{}).(string)
	return s
}

// guarded is an llms.Model that enforces Limits and turns every way a call
// can go wrong into a *ModelError.
type guarded struct {
	inner    llms.Model
	persona  string
	name     string
	provider string // ProviderOpenAI, … when known: some checks are the protocol's
	lim      Limits
	log      *slog.Logger
}

func providerOf(m llms.Model) string {
	switch m.(type) {
	case *ollama.LLM:
		return ProviderOllama
	case *openai.LLM:
		return ProviderOpenAI
	case *anthropic.LLM:
		return ProviderAnthropic
	case *Scripted:
		return ProviderScripted
	}
	return ""
}

// Guard wraps m so that every call made through it, for the given persona:
//   - has a deadline (lim.Timeout on top of the caller's context) and
//     returns when it passes, even if m ignores its context;
//   - carries the persona in its context (see [WithPersona]);
//   - fails with a *ModelError when the reply is empty, larger than
//     lim.MaxReplyBytes, cut off (a stop reason such as "length", an
//     Ollama done_reason "length", a code fence left open), when the server
//     answered an HTTP error, or when m failed; the error's Kind says which.
//
// A successful call returns at least one choice with non-empty content.
// Guarding a guarded model replaces its persona (when non-empty) and limits.
func Guard(m llms.Model, persona string, lim Limits) llms.Model {
	if g, ok := m.(*guarded); ok {
		c := *g
		if persona != "" {
			c.persona = canon(persona)
		}
		c.lim = lim.withDefaults()
		return &c
	}
	return &guarded{inner: m, persona: canon(persona), name: fmt.Sprintf("%T", m), provider: providerOf(m),
		lim: lim.withDefaults(), log: slog.New(slog.DiscardHandler)}
}

// Call implements llms.Model.
func (g *guarded) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, g, prompt, options...)
}

type result struct {
	resp *llms.ContentResponse
	err  error
}

var errStreamTooLarge = errors.New("streamed reply passed the size cap")

// GenerateContent implements llms.Model.
func (g *guarded) GenerateContent(ctx context.Context, msgs []llms.MessageContent, options ...llms.CallOption) (*llms.ContentResponse, error) {
	start := time.Now()
	resp, err := g.generate(ctx, msgs, options)
	if g.log.Enabled(ctx, slog.LevelDebug) {
		n := 0
		if err == nil {
			n = len(resp.Choices[0].Content)
		}
		g.log.LogAttrs(ctx, slog.LevelDebug, "persona: model call", slog.String("persona", g.persona),
			slog.String("model", g.name), slog.Duration("took", time.Since(start)), slog.Int("bytes", n),
			slog.Any("err", err))
	}
	return resp, err
}

func (g *guarded) fail(kind error, detail, reply string, cause error) *ModelError {
	return &ModelError{Persona: g.persona, Model: g.name, Kind: kind, Detail: detail, Reply: excerpt(reply, maxExcerpt), Err: cause}
}

func (g *guarded) generate(ctx context.Context, msgs []llms.MessageContent, options []llms.CallOption) (*llms.ContentResponse, error) {
	if err := ctx.Err(); err != nil {
		return nil, g.ctxFail(err)
	}
	if g.persona != "" {
		ctx = WithPersona(ctx, g.persona)
	}
	cctx, cancel := context.WithTimeout(ctx, g.lim.Timeout)
	defer cancel()
	st := &callState{wireMax: g.lim.MaxWireBytes, sse: g.provider == ProviderOpenAI}
	cctx = withState(cctx, st)

	// Count streamed content, so a runaway stream stops at the cap.
	var co llms.CallOptions
	for _, o := range options {
		o(&co)
	}
	if co.StreamingFunc == nil && (g.provider == ProviderOllama || g.provider == ProviderOpenAI) {
		// Stream whether asked or not: counting the chunks stops a runaway
		// reply at the cap instead of at its end, and a stream says
		// whether it was finished (OpenAI's finish_reason, Ollama's final
		// message).
		co.StreamingFunc = func(context.Context, []byte) error { return nil }
	}
	if orig := co.StreamingFunc; orig != nil {
		var n atomic.Int64
		max := g.lim.MaxReplyBytes
		options = append(options[:len(options):len(options)], llms.WithStreamingFunc(func(ctx context.Context, chunk []byte) error {
			if n.Add(int64(len(chunk))) > max {
				st.setOverflow()
				return errStreamTooLarge
			}
			return orig(ctx, chunk)
		}))
	}

	done := make(chan result, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				// The stack is for the operator's log, not for the error:
				// errors end up in cycle records and prompts for good.
				g.log.LogAttrs(context.WithoutCancel(ctx), slog.LevelError, "persona: model panicked",
					slog.String("persona", g.persona), slog.String("panic", fmt.Sprint(r)), slog.String("stack", string(debug.Stack())))
				done <- result{err: fmt.Errorf("model panicked: %v", r)}
			}
		}()
		resp, err := g.inner.GenerateContent(cctx, msgs, options...)
		done <- result{resp, err}
	}()
	var res result
	select {
	case res = <-done:
	case <-cctx.Done():
		select {
		case res = <-done:
		default:
			res.err = cctx.Err() // the model ignores its context: leave it behind
		}
	}

	w := st.snapshot()
	switch {
	case w.overflow:
		return nil, g.fail(ErrTooLarge, fmt.Sprintf("over %d bytes of reply or %d bytes on the wire (%d read)",
			g.lim.MaxReplyBytes, g.lim.MaxWireBytes, w.wire), "", res.err)
	case w.httpErr != nil:
		return nil, g.fail(ErrHTTPStatus, "", "", w.httpErr)
	case (res.err != nil || w.dropped != nil) && cctx.Err() != nil:
		return nil, g.ctxFail(cctx.Err())
	case w.dropped != nil:
		// Whatever the client made of it (Ollama's keeps what it had, or
		// nothing), a reply whose connection was lost is not complete.
		var d *dropError
		if errors.As(w.dropped, &d) && d.after == 0 {
			return nil, g.fail(ErrModelFailed, "", "", w.dropped)
		}
		return nil, g.fail(ErrTruncated, "", "", w.dropped)
	case w.malformed != "":
		return nil, g.fail(ErrModelFailed, w.malformed, "", res.err)
	case res.err != nil:
		var he *HTTPError
		if errors.As(res.err, &he) {
			return nil, g.fail(ErrHTTPStatus, "", "", res.err)
		}
		if errors.Is(res.err, ErrTooLarge) {
			return nil, g.fail(ErrTooLarge, "", "", res.err)
		}
		return nil, g.fail(ErrModelFailed, "", "", res.err)
	}
	return g.check(res.resp, w.tail)
}

func (g *guarded) ctxFail(err error) *ModelError {
	if errors.Is(err, context.DeadlineExceeded) {
		return g.fail(ErrTimeout, fmt.Sprintf("no reply within %s (or the caller's deadline)", g.lim.Timeout), "", err)
	}
	return g.fail(ErrModelFailed, "call cancelled", "", err)
}

var (
	ollamaLength = regexp.MustCompile(`"done_reason"\s*:\s*"length"`)
	truncReasons = map[string]bool{"length": true, "max_tokens": true, "model_length": true, "max_output_tokens": true}
)

func (g *guarded) check(resp *llms.ContentResponse, tail string) (*llms.ContentResponse, error) {
	if resp == nil || len(resp.Choices) == 0 || resp.Choices[0] == nil {
		return nil, g.fail(ErrEmptyReply, "no choice in the response", "", nil)
	}
	c := resp.Choices[0]
	switch {
	case int64(len(c.Content)) > g.lim.MaxReplyBytes:
		return nil, g.fail(ErrTooLarge, fmt.Sprintf("%d bytes, cap %d", len(c.Content), g.lim.MaxReplyBytes), c.Content, nil)
	case strings.TrimSpace(c.Content) == "" && len(c.ToolCalls) == 0 && c.FuncCall == nil:
		detail := "nothing but whitespace"
		if c.Content == "" {
			detail = "no content"
			switch g.provider {
			case ProviderOllama:
				detail += " (Ollama: the stream ended without its final message)"
			case ProviderOpenAI:
				detail += " (OpenAI-compatible server: the stream carried no text)"
			case ProviderAnthropic:
				detail += " (Anthropic: the message holds no text)"
			case ProviderScripted:
				detail += " (scripted reply: empty text)"
			}
		}
		return nil, g.fail(ErrEmptyReply, detail, c.Content, nil)
	case truncReasons[strings.ToLower(c.StopReason)]:
		return nil, g.fail(ErrTruncated, fmt.Sprintf("the model stopped at its token limit (stop reason %q)", c.StopReason), c.Content, nil)
	case ollamaLength.MatchString(tail):
		return nil, g.fail(ErrTruncated, `the model stopped at its token limit (done_reason "length")`, c.Content, nil)
	case g.provider == ProviderOpenAI && c.StopReason == "" && len(c.ToolCalls) == 0:
		// Calls to OpenAI-compatible servers always stream (see generate).
		return nil, g.fail(ErrTruncated, "the stream ended without a finish reason", c.Content, nil)
	case openFenceTruncated(c.Content):
		return nil, g.fail(ErrTruncated, "a code fence is opened and never closed", c.Content, nil)
	}
	return resp, nil
}

// AskOption sets a per-call option of [Ask].
type AskOption func(*askConfig)

type askConfig struct {
	system   string
	history  []llms.MessageContent
	timeout  time.Duration
	maxBytes int64
	call     []llms.CallOption
}

// WithSystem sends s as the system message before the prompt (a persona's
// [Codex.SystemPrompt], say).
func WithSystem(s string) AskOption { return func(c *askConfig) { c.system = s } }

// WithHistory sends earlier turns of the conversation between the system
// message and the prompt.
func WithHistory(msgs ...llms.MessageContent) AskOption {
	return func(c *askConfig) { c.history = append(c.history, msgs...) }
}

// WithTimeout sets this call's deadline, replacing Limits.Timeout.
func WithTimeout(d time.Duration) AskOption { return func(c *askConfig) { c.timeout = d } }

// WithMaxReplyBytes sets this call's reply cap, replacing
// Limits.MaxReplyBytes (and the wire cap derived from it).
func WithMaxReplyBytes(n int64) AskOption { return func(c *askConfig) { c.maxBytes = n } }

// WithCallOptions passes langchaingo call options (temperature, max
// tokens, JSON mode, a streaming function …) to the model.
func WithCallOptions(opts ...llms.CallOption) AskOption {
	return func(c *askConfig) { c.call = append(c.call, opts...) }
}

// Ask sends one prompt to m for the given persona and returns the reply
// text, through [Guard]: with a deadline, a size cap, and a *ModelError for
// an empty, oversized or cut-off reply, an HTTP error or a failed call. A
// nil error means a non-empty reply. If m is already guarded (a [Router]'s
// model), its limits apply unless the options replace them.
func Ask(ctx context.Context, m llms.Model, persona, prompt string, opts ...AskOption) (string, error) {
	var c askConfig
	for _, o := range opts {
		o(&c)
	}
	lim := Limits{}
	if g, ok := m.(*guarded); ok {
		lim = g.lim
	}
	if c.timeout > 0 {
		lim.Timeout = c.timeout
	}
	if c.maxBytes > 0 {
		lim.MaxReplyBytes, lim.MaxWireBytes = c.maxBytes, 0
	}
	gm := Guard(m, persona, lim)
	msgs := make([]llms.MessageContent, 0, len(c.history)+2)
	if c.system != "" {
		msgs = append(msgs, llms.TextParts(llms.ChatMessageTypeSystem, c.system))
	}
	msgs = append(msgs, c.history...)
	msgs = append(msgs, llms.TextParts(llms.ChatMessageTypeHuman, prompt))
	resp, err := gm.GenerateContent(ctx, msgs, c.call...)
	if err != nil {
		return "", err
	}
	return resp.Choices[0].Content, nil
}
