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
	observe  Observer // per call (see Ask); nil means none
}

func providerOf(m llms.Model) string {
	switch x := m.(type) {
	case *ollama.LLM:
		return ProviderOllama
	case *openai.LLM:
		return ProviderOpenAI
	case *anthropic.LLM:
		return ProviderAnthropic
	case *Scripted:
		return ProviderScripted
	case *Recording:
		return providerOf(x.Unwrap()) // it passes the protocol's calls on as they are
	}
	return ""
}

// Guard wraps m so that every call made through it, for the given persona:
//   - has a deadline (lim.Timeout on top of the caller's context) and
//     returns when it passes, even if m ignores its context;
//   - fails with ErrStalled when the server sends no byte for
//     lim.StallTimeout (clients built from specs);
//   - carries the persona in its context (see [WithPersona]);
//   - is tried again, at most lim.MaxRetries times, after a retryable
//     fault: an HTTP 429 or 5xx (waiting its Retry-After), a connection
//     lost, an empty reply (see [Limits]);
//   - fails with a *ModelError when the reply is empty, larger than
//     lim.MaxReplyBytes, cut off (a stop reason such as "length", an
//     Ollama done_reason "length", a stream that ends without its finish
//     reason, a lost connection, a code fence left open on incomplete
//     code), when the server answered an HTTP error, or when m failed; the
//     error's Kind says which, its Attempts how many attempts were made.
//
// Calls to Ollama and OpenAI-compatible clients always stream (with a
// streaming function that does nothing when the caller passes none), so
// that a stream's end can be checked and a stall seen. A successful call
// returns at least one choice with non-empty content. Guarding a guarded
// model replaces its persona (when non-empty) and limits.
func Guard(m llms.Model, persona string, lim Limits) llms.Model { return guard(m, persona, lim) }

func guard(m llms.Model, persona string, lim Limits) *guarded {
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

var (
	errStreamTooLarge = errors.New("streamed reply passed the size cap")
	errStalled        = errors.New("stalled")
)

// GenerateContent implements llms.Model: attempts until one gives a usable
// reply, a failure is not retryable, the retries are spent or the
// deadline leaves no room for the wait before another.
func (g *guarded) GenerateContent(ctx context.Context, msgs []llms.MessageContent, options ...llms.CallOption) (*llms.ContentResponse, error) {
	if err := ctx.Err(); err != nil {
		me := g.ctxFail(err)
		me.Attempts = 0 // the model was never asked
		return nil, me
	}
	if g.persona != "" {
		ctx = WithPersona(ctx, g.persona)
	}
	cctx, cancel := context.WithTimeout(ctx, g.lim.Timeout)
	defer cancel()
	for n := 1; ; n++ {
		start := time.Now()
		resp, me, streamed := g.attempt(cctx, msgs, options)
		a := Attempt{Persona: g.persona, Model: g.name, N: n, Took: time.Since(start)}
		if me == nil {
			a.Usage, a.Bytes = UsageOf(resp), len(resp.Choices[0].Content)
			g.report(ctx, a)
			return resp, nil
		}
		wait, why := g.retryWait(cctx, me, n, streamed)
		a.Err, a.Retry, a.Wait = me, why == "", wait
		if !a.Retry {
			me.Attempts = n // the call's error: the observer sees it as returned
			if why != notRetryable {
				me.Detail = joinDetail(me.Detail, why)
			}
			g.report(ctx, a)
			return nil, me
		}
		g.report(ctx, a)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-cctx.Done():
			t.Stop()
			fe := g.ctxFail(cctx.Err())
			fe.Attempts = n
			return nil, fe
		}
	}
}

// report hands an attempt to the observer and the log.
func (g *guarded) report(ctx context.Context, a Attempt) {
	if g.observe != nil {
		g.observe(a)
	}
	if g.log.Enabled(ctx, slog.LevelDebug) {
		g.log.LogAttrs(ctx, slog.LevelDebug, "persona: model call", slog.String("persona", a.Persona),
			slog.String("model", a.Model), slog.Int("attempt", a.N), slog.Duration("took", a.Took), slog.Int("bytes", a.Bytes),
			slog.Int("prompt_tokens", a.Usage.PromptTokens), slog.Int("completion_tokens", a.Usage.CompletionTokens),
			slog.Any("err", a.Err), slog.Bool("retry", a.Retry), slog.Duration("wait", a.Wait))
	}
}

func joinDetail(detail, more string) string {
	switch {
	case more == "":
		return detail
	case detail == "":
		return more
	}
	return detail + "; " + more
}

func (g *guarded) fail(kind error, detail, reply string, cause error) *ModelError {
	return &ModelError{Persona: g.persona, Model: g.name, Kind: kind, Detail: detail, Reply: excerpt(reply, maxExcerpt), Err: cause, Attempts: 1}
}

// attempt makes one request of a call. streamed reports whether the
// caller's own streaming function received a chunk: a reply the caller has
// partly seen cannot be taken back by a retry.
func (g *guarded) attempt(cctx context.Context, msgs []llms.MessageContent, options []llms.CallOption) (*llms.ContentResponse, *ModelError, bool) {
	actx, acancel := context.WithCancelCause(cctx)
	defer acancel(nil)
	st := &callState{wireMax: g.lim.MaxWireBytes, sse: g.provider == ProviderOpenAI,
		stall: g.lim.StallTimeout, onStall: func() { acancel(errStalled) }}
	defer st.finish()
	actx = withState(actx, st)

	// Count streamed content, so a runaway stream stops at the cap.
	var co llms.CallOptions
	for _, o := range options {
		o(&co)
	}
	var delivered atomic.Bool
	if orig := co.StreamingFunc; orig != nil {
		co.StreamingFunc = func(ctx context.Context, chunk []byte) error {
			if len(chunk) > 0 {
				delivered.Store(true)
			}
			return orig(ctx, chunk)
		}
	} else if g.provider == ProviderOllama || g.provider == ProviderOpenAI {
		// Stream whether asked or not: counting the chunks stops a runaway
		// reply at the cap instead of at its end, a stream says whether it
		// was finished (OpenAI's finish_reason, Ollama's final message),
		// and its bytes show a stall apart from a slow model.
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
				g.log.LogAttrs(context.WithoutCancel(actx), slog.LevelError, "persona: model panicked",
					slog.String("persona", g.persona), slog.String("panic", fmt.Sprint(r)), slog.String("stack", string(debug.Stack())))
				done <- result{err: fmt.Errorf("model panicked: %v", r)}
			}
		}()
		resp, err := g.inner.GenerateContent(actx, msgs, options...)
		done <- result{resp, err}
	}()
	var res result
	select {
	case res = <-done:
	case <-actx.Done():
		select {
		case res = <-done:
		default:
			res.err = actx.Err() // the model ignores its context: leave it behind
		}
	}

	w := st.snapshot()
	streamed := delivered.Load()
	switch {
	case w.overflow:
		return nil, g.fail(ErrTooLarge, fmt.Sprintf("over %d bytes of reply or %d bytes on the wire (%d read)",
			g.lim.MaxReplyBytes, g.lim.MaxWireBytes, w.wire), "", res.err), streamed
	case w.httpErr != nil:
		return nil, g.fail(ErrHTTPStatus, "", "", w.httpErr), streamed
	case w.stalled && cctx.Err() == nil:
		return nil, g.fail(ErrStalled, fmt.Sprintf("no byte from the server for %s (%d bytes read)", g.lim.StallTimeout, w.wire), "", nil), streamed
	case (res.err != nil || w.dropped != nil) && cctx.Err() != nil:
		return nil, g.ctxFail(cctx.Err()), streamed
	case w.dropped != nil:
		// Whatever the client made of it (Ollama's keeps what it had, or
		// nothing), a reply whose connection was lost is not complete.
		var d *dropError
		if errors.As(w.dropped, &d) && d.after == 0 {
			return nil, g.fail(ErrModelFailed, "", "", w.dropped), streamed
		}
		return nil, g.fail(ErrTruncated, "", "", w.dropped), streamed
	case w.malformed != "":
		return nil, g.fail(ErrModelFailed, w.malformed, "", res.err), streamed
	case res.err != nil:
		var he *HTTPError
		if errors.As(res.err, &he) {
			return nil, g.fail(ErrHTTPStatus, "", "", res.err), streamed
		}
		if errors.Is(res.err, ErrTooLarge) {
			return nil, g.fail(ErrTooLarge, "", "", res.err), streamed
		}
		return nil, g.fail(ErrModelFailed, "", "", res.err), streamed
	}
	resp, me := g.check(res.resp, w.tail)
	return resp, me, streamed
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

func (g *guarded) check(resp *llms.ContentResponse, tail string) (*llms.ContentResponse, *ModelError) {
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
	limits   Limits
	retries  *int
	observe  Observer
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

// WithLimits sets this call's limits: each non-zero field of l replaces
// the model's (a [Router]'s model has the options' Limits; any other
// model the defaults). To turn a limit off, use its negative value where
// the field allows one (StallTimeout, MaxRetries).
func WithLimits(l Limits) AskOption {
	return func(c *askConfig) { c.limits = c.limits.merge(l) }
}

// WithRetries sets how many times this call may be tried again after a
// retryable fault, replacing Limits.MaxRetries; 0 means one attempt only.
func WithRetries(n int) AskOption { return func(c *askConfig) { c.retries = &n } }

// WithObserver has o told about every attempt of this call, as it ends:
// the requests the model received, what each cost (tokens, time), why it
// failed and whether a retry follows. See [Attempt].
func WithObserver(o Observer) AskOption { return func(c *askConfig) { c.observe = o } }

// WithCallOptions passes langchaingo call options (temperature, max
// tokens, JSON mode, a streaming function …) to the model.
func WithCallOptions(opts ...llms.CallOption) AskOption {
	return func(c *askConfig) { c.call = append(c.call, opts...) }
}

// Ask sends one prompt to m for the given persona and returns the reply
// text, through [Guard]: with a deadline, a stall timeout, a size cap,
// retries of retryable faults, and a *ModelError for an empty, oversized
// or cut-off reply, an HTTP error or a failed call. A nil error means a
// non-empty reply. If m is already guarded (a [Router]'s model), its
// limits apply unless the options replace them. [WithObserver] sees every
// attempt.
func Ask(ctx context.Context, m llms.Model, persona, prompt string, opts ...AskOption) (string, error) {
	var c askConfig
	for _, o := range opts {
		o(&c)
	}
	lim := Limits{}
	if g, ok := m.(*guarded); ok {
		lim = g.lim
	}
	lim = lim.merge(c.limits)
	if c.timeout > 0 {
		lim.Timeout = c.timeout
	}
	if c.maxBytes > 0 {
		lim.MaxReplyBytes, lim.MaxWireBytes = c.maxBytes, 0
	}
	if c.retries != nil {
		lim.MaxRetries = max(*c.retries, 0)
		if lim.MaxRetries == 0 {
			lim.MaxRetries = -1
		}
	}
	gm := guard(m, persona, lim)
	gm.observe = c.observe
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
