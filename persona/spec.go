package persona

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/llms/anthropic"
	"github.com/tmc/langchaingo/llms/ollama"
	"github.com/tmc/langchaingo/llms/openai"
)

// Providers understood in a model spec.
const (
	ProviderOllama    = "ollama"
	ProviderOpenAI    = "openai"
	ProviderAnthropic = "anthropic"
	ProviderScripted  = "scripted"
)

// DefaultSpec is the model used when the options name none: a local
// Ollama server with a small coding model.
const DefaultSpec = "ollama:qwen2.5-coder:7b"

// DefaultOllamaURL is where an ollama spec without @URL is served.
const DefaultOllamaURL = "http://127.0.0.1:11434"

// DefaultOpenAIURL is the base URL of an openai spec without @URL.
const DefaultOpenAIURL = "https://api.openai.com/v1"

// Spec is a parsed model spec. Its text form is
//
//	ollama:MODEL[@URL]        e.g. ollama:qwen2.5-coder:7b@http://gpu:11434
//	openai:MODEL[@BASEURL]    any OpenAI-compatible server (llama.cpp, vLLM, LM Studio),
//	                          e.g. openai:brick-lora@http://localhost:8000/v1
//	anthropic:MODEL[@URL]     e.g. anthropic:claude-3-5-haiku-latest
//	scripted:FILE             a JSONL script of replies (see [Scripted])
//
// The URL starts at the first "@http://" or "@https://"; model names may
// contain colons.
type Spec struct {
	Provider string // ProviderOllama, ProviderOpenAI, ProviderAnthropic or ProviderScripted
	Model    string // the model name, or the script file for scripted
	URL      string // the server's base URL; "" means the provider's default
}

// ParseSpec parses a model spec string. Errors are *SpecError (errors.Is
// ErrBadSpec).
func ParseSpec(s string) (Spec, error) {
	s = strings.TrimSpace(s)
	provider, rest, ok := strings.Cut(s, ":")
	if !ok {
		return Spec{}, &SpecError{Spec: s, Reason: "want PROVIDER:MODEL (ollama, openai, anthropic or scripted)"}
	}
	sp := Spec{Provider: strings.ToLower(strings.TrimSpace(provider))}
	switch sp.Provider {
	case ProviderScripted:
		sp.Model = strings.TrimSpace(rest)
		if sp.Model == "" {
			return Spec{}, &SpecError{Spec: s, Reason: "scripted needs a file: scripted:FILE"}
		}
		return sp, nil
	case ProviderOllama, ProviderOpenAI, ProviderAnthropic:
	default:
		return Spec{}, &SpecError{Spec: s, Reason: fmt.Sprintf("unknown provider %q (want ollama, openai, anthropic or scripted)", provider)}
	}
	sp.Model = rest
	cut, lower := -1, strings.ToLower(rest)
	for _, scheme := range []string{"@http://", "@https://"} {
		if i := strings.Index(lower, scheme); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut >= 0 {
		sp.Model, sp.URL = rest[:cut], strings.TrimSpace(rest[cut+1:])
	}
	sp.Model = strings.TrimSpace(sp.Model)
	if sp.Model == "" {
		return Spec{}, &SpecError{Spec: s, Reason: "empty model name"}
	}
	if sp.URL == "" && strings.Contains(sp.Model, "@") {
		return Spec{}, &SpecError{Spec: s, Reason: "the part after @ must be an http:// or https:// URL"}
	}
	if sp.URL != "" {
		u, err := url.Parse(sp.URL)
		if err != nil || u.Host == "" {
			return Spec{}, &SpecError{Spec: redactSpec(s), Reason: "bad server URL"}
		}
	}
	return sp, nil
}

// String returns the spec's text form, with any credentials in the URL
// redacted.
func (s Spec) String() string {
	out := s.Provider + ":" + s.Model
	if s.URL != "" {
		out += "@" + redactURL(s.URL)
	}
	return out
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "[unparsable URL]"
	}
	return u.Redacted()
}

func redactSpec(s string) string {
	if i := strings.Index(s, "@http"); i >= 0 {
		return s[:i+1] + redactURL(s[i+1:])
	}
	return s
}

// Secret is a string that keeps itself out of logs and formatted output:
// String, GoString and LogValue all say "[redacted]".
type Secret string

// String returns "[redacted]" (or "" for an empty secret).
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString returns the same as String, so %#v redacts too.
func (s Secret) GoString() string { return s.String() }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON writes the redacted form, so JSON logs of a struct holding a
// Secret do not reveal it either.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// Options configure how personas reach their models. The zero value means
// the defaults that [DefaultOptions] documents.
type Options struct {
	// Default is the spec of the model for every persona without one of
	// its own. "" means DefaultSpec.
	Default string
	// Specs maps a persona name (ALFRED, BRICK, …) to its model spec.
	Specs map[string]string
	// Models maps a persona name to a model the host built itself; it wins
	// over Specs. The key "" sets the default model, winning over Default.
	Models map[string]llms.Model
	// Adapters maps a persona to the LoRA adapter its calls use. The
	// adapter's name is sent as each call's model, which is how vLLM (and
	// Ollama, for a model built with the adapter) select it. With
	// AdapterHost set, each call first makes the adapter ready there;
	// without it, the engine must serve it already.
	Adapters map[string]string
	// AdapterHost makes the adapters of Adapters ready for each call:
	// usually an *adapter.Residency (package persona/adapter). Nil means
	// none.
	AdapterHost AdapterHost
	// OpenAIKey is sent to openai specs. Local OpenAI-compatible servers
	// need none; https://api.openai.com does.
	OpenAIKey Secret
	// AnthropicKey is sent to anthropic specs, which need one.
	AnthropicKey Secret
	// OllamaURL serves ollama specs without @URL. "" means DefaultOllamaURL.
	OllamaURL string
	// OllamaKeepAlive is sent as keep_alive with every Ollama call: how
	// long the model stays loaded after it ("30m", "-1" for ever, "0" to
	// unload at once). "" leaves it to the server (five minutes).
	OllamaKeepAlive string
	// HTTPClient is the base of the clients built for specs; its Transport
	// is wrapped, never changed. Nil means a new client with
	// http.DefaultTransport.
	HTTPClient *http.Client
	// ScriptFS is where scripted:FILE specs are read from. Nil means the
	// operating system's files (FILE is a path).
	ScriptFS fs.FS
	// Limits bound every model call (deadline, reply size).
	Limits Limits
	// Logger receives one record per model call, at level Debug: each
	// attempt of a call (persona, model, attempt, duration, bytes, tokens,
	// error, whether a retry follows). Nil discards.
	Logger *slog.Logger
}

// LogValue describes the options for logs: specs and limits, and whether
// each key is set, never the keys.
func (o Options) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("default", o.Default),
		slog.Any("specs", o.Specs),
		slog.Int("host_models", len(o.Models)),
		slog.Bool("openai_key", o.OpenAIKey != ""),
		slog.Bool("anthropic_key", o.AnthropicKey != ""),
		slog.String("ollama_url", redactURL(o.OllamaURL)),
		slog.Duration("timeout", o.Limits.Timeout),
		slog.Duration("stall_timeout", o.Limits.StallTimeout),
		slog.Int("max_retries", o.Limits.MaxRetries),
		slog.Int64("max_reply_bytes", o.Limits.MaxReplyBytes),
	)
}

// Limits bound a model call. Each zero field means its default, as
// documented on the field; [DefaultOptions] returns them filled in.
type Limits struct {
	// Timeout is the deadline of one call, applied on top of the caller's
	// context. Zero or negative means DefaultTimeout: no call goes
	// without a deadline.
	Timeout time.Duration
	// MaxReplyBytes caps the reply's text. Zero or negative means
	// DefaultMaxReplyBytes (1 MiB).
	MaxReplyBytes int64
	// MaxWireBytes caps the bytes read from the server for one call (the
	// reply plus its JSON or SSE framing), for clients built from specs.
	// Zero or negative means 64 × MaxReplyBytes.
	MaxWireBytes int64
	// StallTimeout fails an attempt with ErrStalled when the server sends
	// no byte for this long: after the request, before the response, or
	// between two pieces of a stream. Timeout stays for a model that is
	// slow but steady. It watches clients built from specs (their bytes
	// pass the guard's transport), not a host's own model. Zero means
	// DefaultStallTimeout; negative turns the watch off (for a server
	// that loads a large model for longer before its first byte).
	StallTimeout time.Duration
	// MaxRetries bounds how many times a call is tried again after a
	// retryable fault: an HTTP 429 or 5xx (after the server's
	// Retry-After), a connection lost, an empty reply. Other 4xx
	// statuses, replies too large or cut at the token limit, stalls and
	// timeouts are not retried, nor a call whose caller's streaming
	// function already had part of the reply. All attempts share Timeout.
	// Zero means DefaultMaxRetries; negative means no retry.
	MaxRetries int
	// RetryBackoff is the wait before the first retry without a
	// Retry-After, doubled for each later one, with jitter (a wait
	// between half and all of it). Zero or negative means
	// DefaultRetryBackoff.
	RetryBackoff time.Duration
	// MaxRetryWait is the longest wait before a retry: a server asking
	// for more (Retry-After) ends the call. Zero or negative means
	// DefaultMaxRetryWait.
	MaxRetryWait time.Duration
}

// Default limits.
const (
	DefaultTimeout       = 3 * time.Minute
	DefaultMaxReplyBytes = 1 << 20
	DefaultStallTimeout  = 60 * time.Second
	DefaultMaxRetries    = 2
	DefaultRetryBackoff  = 500 * time.Millisecond
	DefaultMaxRetryWait  = 30 * time.Second
	wireFactor           = 64
)

// merge returns l with each non-zero field of o in its place.
func (l Limits) merge(o Limits) Limits {
	if o.Timeout != 0 {
		l.Timeout = o.Timeout
	}
	if o.MaxReplyBytes != 0 {
		l.MaxReplyBytes, l.MaxWireBytes = o.MaxReplyBytes, 0
	}
	if o.MaxWireBytes != 0 {
		l.MaxWireBytes = o.MaxWireBytes
	}
	if o.StallTimeout != 0 {
		l.StallTimeout = o.StallTimeout
	}
	if o.MaxRetries != 0 {
		l.MaxRetries = o.MaxRetries
	}
	if o.RetryBackoff != 0 {
		l.RetryBackoff = o.RetryBackoff
	}
	if o.MaxRetryWait != 0 {
		l.MaxRetryWait = o.MaxRetryWait
	}
	return l
}

func (l Limits) withDefaults() Limits {
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	if l.MaxReplyBytes <= 0 {
		l.MaxReplyBytes = DefaultMaxReplyBytes
	}
	if l.MaxWireBytes <= 0 {
		l.MaxWireBytes = wireFactor * l.MaxReplyBytes
	}
	if l.StallTimeout == 0 {
		l.StallTimeout = DefaultStallTimeout
	}
	switch {
	case l.MaxRetries == 0:
		l.MaxRetries = DefaultMaxRetries
	case l.MaxRetries < 0:
		l.MaxRetries = -1
	}
	if l.RetryBackoff <= 0 {
		l.RetryBackoff = DefaultRetryBackoff
	}
	if l.MaxRetryWait <= 0 {
		l.MaxRetryWait = DefaultMaxRetryWait
	}
	return l
}

// DefaultOptions returns the options with every default filled in: the
// DefaultSpec model for all personas, the local Ollama URL, and the
// default Limits (DefaultTimeout, DefaultMaxReplyBytes, a wire cap of
// 64 × MaxReplyBytes, DefaultStallTimeout, DefaultMaxRetries,
// DefaultRetryBackoff and DefaultMaxRetryWait).
func DefaultOptions() Options { return Options{}.withDefaults() }

func (o Options) withDefaults() Options {
	if strings.TrimSpace(o.Default) == "" {
		o.Default = DefaultSpec
	}
	if o.OllamaURL == "" {
		o.OllamaURL = DefaultOllamaURL
	}
	o.Limits = o.Limits.withDefaults()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Environment variables read by OptionsFromEnv.
const (
	envModel        = "BATOS_MODEL"         // the default spec
	envModelPrefix  = "BATOS_MODEL_"        // + persona name: that persona's spec
	envTimeout      = "BATOS_MODEL_TIMEOUT" // a time.Duration for Limits.Timeout
	envOpenAIKey    = "OPENAI_API_KEY"
	envAnthropicKey = "ANTHROPIC_API_KEY"
	envOllamaHost   = "OLLAMA_HOST" // host:port or URL of the Ollama server
)

// OptionsFromEnv reads the model options from environment variables through
// getenv (pass os.Getenv): BATOS_MODEL, BATOS_MODEL_ALFRED, BATOS_MODEL_BRICK,
// BATOS_MODEL_ROBIN, BATOS_MODEL_BABS (and BATOS_MODEL_<NAME> for each extra
// name given), BATOS_MODEL_TIMEOUT, OPENAI_API_KEY, ANTHROPIC_API_KEY and
// OLLAMA_HOST. Unset variables leave their option at its default. Specs
// are checked; a bad one or a bad timeout is an error naming the variable.
func OptionsFromEnv(getenv func(string) string, names ...string) (Options, error) {
	var o Options
	if getenv == nil {
		return o, nil
	}
	if v := strings.TrimSpace(getenv(envModel)); v != "" {
		if _, err := ParseSpec(v); err != nil {
			return Options{}, fmt.Errorf("persona: %s: %w", envModel, err)
		}
		o.Default = v
	}
	for _, n := range append([]string{ALFRED, BRICK, ROBIN, BABS}, names...) {
		key := envModelPrefix + canon(n)
		if key == envTimeout {
			continue
		}
		if v := strings.TrimSpace(getenv(key)); v != "" {
			if _, err := ParseSpec(v); err != nil {
				return Options{}, fmt.Errorf("persona: %s: %w", key, err)
			}
			if o.Specs == nil {
				o.Specs = map[string]string{}
			}
			o.Specs[canon(n)] = v
		}
	}
	if v := strings.TrimSpace(getenv(envTimeout)); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return Options{}, fmt.Errorf("persona: %s=%q: want a positive duration such as 90s", envTimeout, v)
		}
		o.Limits.Timeout = d
	}
	o.OpenAIKey = Secret(strings.TrimSpace(getenv(envOpenAIKey)))
	o.AnthropicKey = Secret(strings.TrimSpace(getenv(envAnthropicKey)))
	if h := strings.TrimSpace(getenv(envOllamaHost)); h != "" {
		if !strings.Contains(h, "://") {
			h = "http://" + h
		}
		if u, err := url.Parse(h); err != nil || u.Host == "" {
			return Options{}, fmt.Errorf("persona: %s=%q: not a host:port or URL", envOllamaHost, h)
		}
		o.OllamaURL = h
	}
	return o, nil
}

// NewModel builds the langchaingo model a spec names. The clients it
// builds read no environment variable that the options do not set (the
// spec's URL and the options' keys are passed explicitly), and their HTTP
// traffic goes through a transport that turns an HTTP status of 400 or
// more into an *HTTPError and caps the bytes read (see [Limits]). The
// model is not guarded: use [Guard], [Ask] or a [Router] to call it.
func NewModel(spec string, opts Options) (llms.Model, error) {
	sp, err := ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	return newModel(sp, opts.withDefaults())
}

func newModel(sp Spec, opts Options) (llms.Model, error) {
	hc := guardedClient(opts.HTTPClient, opts.Limits.MaxWireBytes)
	switch sp.Provider {
	case ProviderOllama:
		base := sp.URL
		if base == "" {
			base = opts.OllamaURL
		}
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, &SpecError{Spec: sp.String(), Reason: "ollama URL must be http:// or https://host:port"}
		}
		// WithServerURL would log.Fatal on a bad URL: it was checked above.
		oopts := []ollama.Option{ollama.WithModel(sp.Model), ollama.WithServerURL(u.String()), ollama.WithHTTPClient(hc)}
		if opts.OllamaKeepAlive != "" {
			oopts = append(oopts, ollama.WithKeepAlive(opts.OllamaKeepAlive))
		}
		m, err := ollama.New(oopts...)
		if err != nil {
			return nil, fmt.Errorf("persona: %s: %w", sp, err)
		}
		return m, nil
	case ProviderOpenAI:
		base := sp.URL
		if base == "" {
			base = DefaultOpenAIURL
		}
		key := string(opts.OpenAIKey)
		if key == "" {
			if sp.URL == "" {
				return nil, fmt.Errorf("%w: %s talks to %s, which needs OpenAIKey (OPENAI_API_KEY)", ErrMissingKey, sp, DefaultOpenAIURL)
			}
			key = "no-key" // local servers ignore it; langchaingo refuses an empty one
		}
		m, err := openai.New(openai.WithModel(sp.Model), openai.WithBaseURL(base), openai.WithToken(key),
			openai.WithOrganization(""), openai.WithHTTPClient(unwrapDoer{hc}))
		if err != nil {
			return nil, fmt.Errorf("persona: %s: %w", sp, err)
		}
		return m, nil
	case ProviderAnthropic:
		if opts.AnthropicKey == "" {
			return nil, fmt.Errorf("%w: %s needs AnthropicKey (ANTHROPIC_API_KEY)", ErrMissingKey, sp)
		}
		aopts := []anthropic.Option{anthropic.WithModel(sp.Model), anthropic.WithToken(string(opts.AnthropicKey)),
			anthropic.WithHTTPClient(unwrapDoer{hc})}
		if sp.URL != "" {
			aopts = append(aopts, anthropic.WithBaseURL(strings.TrimSuffix(sp.URL, "/")))
		}
		m, err := anthropic.New(aopts...)
		if err != nil {
			return nil, fmt.Errorf("persona: %s: %w", sp, err)
		}
		return m, nil
	case ProviderScripted:
		var data []byte
		var err error
		if opts.ScriptFS != nil {
			data, err = fs.ReadFile(opts.ScriptFS, sp.Model)
		} else {
			data, err = os.ReadFile(sp.Model)
		}
		if err != nil {
			return nil, &ScriptError{Source: sp.Model, Reason: err.Error()}
		}
		return ParseScript(sp.Model, data)
	}
	return nil, &SpecError{Spec: sp.String(), Reason: "unknown provider"}
}
