package memory

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tmc/langchaingo/embeddings"
	"github.com/tmc/langchaingo/llms/ollama"
	"github.com/tmc/langchaingo/llms/openai"
)

// defaultHTTPTimeout bounds one embedding request when the caller gives no
// HTTP client of its own; the context bounds it too.
const defaultHTTPTimeout = 2 * time.Minute

// LangchainEmbedder adapts a langchaingo embedder. name must identify the
// model and its settings (see Embedder.Name); dims may be 0 if unknown.
func LangchainEmbedder(name string, dims int, e embeddings.Embedder) Embedder {
	return Embedder{
		Name:       name,
		Dimensions: dims,
		Embed: func(ctx context.Context, text string) ([]float32, error) {
			if blank(text) {
				return nil, ErrEmptyText
			}
			return e.EmbedQuery(ctx, text)
		},
		EmbedBatch: func(ctx context.Context, texts []string) ([][]float32, error) {
			for _, t := range texts {
				if blank(t) {
					return nil, ErrEmptyText
				}
			}
			return e.EmbedDocuments(ctx, texts)
		},
	}
}

// OllamaOptions configure OllamaEmbedder.
type OllamaOptions struct {
	// ServerURL is the Ollama server, e.g. "http://127.0.0.1:11434". Required:
	// the library never reads OLLAMA_HOST.
	ServerURL string
	// Model is the embedding model, e.g. "nomic-embed-text". Required.
	Model string
	// Dimensions is the model's vector length, if known (0: learnt from the first vector).
	Dimensions int
	// HTTPClient is used for every request. Nil means a client with a two-minute timeout.
	HTTPClient *http.Client
}

// OllamaEmbedder returns an embedder that asks an Ollama server (its
// /api/embed endpoint) through langchaingo's Ollama client. Its name is
// "ollama:" followed by the model.
func OllamaEmbedder(o OllamaOptions) (Embedder, error) {
	if o.Model == "" {
		return Embedder{}, fmt.Errorf("%w: ollama: no model", ErrNoEmbedder)
	}
	if err := checkURL(o.ServerURL); err != nil {
		return Embedder{}, fmt.Errorf("%w: ollama: %v", ErrNoEmbedder, err)
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: defaultHTTPTimeout}
	}
	llm, err := ollama.New(ollama.WithServerURL(o.ServerURL), ollama.WithModel(o.Model), ollama.WithHTTPClient(hc))
	if err != nil {
		return Embedder{}, fmt.Errorf("memory: ollama client: %w", err)
	}
	e, err := embeddings.NewEmbedder(llm)
	if err != nil {
		return Embedder{}, fmt.Errorf("memory: ollama embedder: %w", err)
	}
	return LangchainEmbedder("ollama:"+o.Model, o.Dimensions, e), nil
}

// OpenAIOptions configure OpenAIEmbedder.
type OpenAIOptions struct {
	// BaseURL is the API's base, e.g. "https://api.openai.com/v1" or a local
	// OpenAI-compatible server's "http://127.0.0.1:8080/v1". Required: the
	// library never reads OPENAI_BASE_URL.
	BaseURL string
	// Token is the API key. Servers that need none may leave it empty.
	Token string
	// Model is the embedding model, e.g. "text-embedding-3-small". Required.
	Model string
	// Dimensions asks the model for vectors of this length (OpenAI's
	// "dimensions" parameter); 0 leaves the model's own length, learnt from
	// the first vector.
	Dimensions int
	// BatchSize bounds the texts sent in one request. Zero means 256.
	BatchSize int
	// HTTPClient is used for every request. Nil means a client with a two-minute timeout.
	HTTPClient *http.Client
}

// OpenAIEmbedder returns an embedder that asks an OpenAI-compatible server
// (its /embeddings endpoint) through langchaingo's OpenAI client. Its name
// is "openai:" followed by the model, and by "@" and the dimension when one
// was asked for.
func OpenAIEmbedder(o OpenAIOptions) (Embedder, error) {
	if o.Model == "" {
		return Embedder{}, fmt.Errorf("%w: openai: no model", ErrNoEmbedder)
	}
	if err := checkURL(o.BaseURL); err != nil {
		return Embedder{}, fmt.Errorf("%w: openai: %v", ErrNoEmbedder, err)
	}
	if o.Dimensions < 0 {
		return Embedder{}, fmt.Errorf("%w: openai: negative dimensions", ErrNoEmbedder)
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: defaultHTTPTimeout}
	}
	token := o.Token
	if token == "" {
		token = "none" // langchaingo refuses an empty key; local servers ignore it
	}
	opts := []openai.Option{
		openai.WithBaseURL(strings.TrimRight(o.BaseURL, "/")),
		openai.WithToken(token),
		openai.WithEmbeddingModel(o.Model),
		openai.WithHTTPClient(hc),
	}
	name := "openai:" + o.Model
	if o.Dimensions > 0 {
		opts = append(opts, openai.WithEmbeddingDimensions(o.Dimensions))
		name += "@" + strconv.Itoa(o.Dimensions)
	}
	llm, err := openai.New(opts...)
	if err != nil {
		return Embedder{}, fmt.Errorf("memory: openai client: %w", err)
	}
	batch := o.BatchSize
	if batch <= 0 {
		batch = 256
	}
	e, err := embeddings.NewEmbedder(llm, embeddings.WithBatchSize(batch))
	if err != nil {
		return Embedder{}, fmt.Errorf("memory: openai embedder: %w", err)
	}
	return LangchainEmbedder(name, o.Dimensions, e), nil
}

// ParseEmbedder builds an embedder from a short spec, for host programs and
// examples that take it from a flag or the environment:
//
//	offline            the offline default (384 dimensions)
//	offline:512        the offline embedder with 512 dimensions
//	ollama:MODEL       Ollama at getenv("OLLAMA_HOST"), default http://127.0.0.1:11434
//	openai:MODEL       OpenAI-compatible at getenv("OPENAI_BASE_URL"), default
//	                   https://api.openai.com/v1, key getenv("OPENAI_API_KEY")
//
// getenv may be nil (nothing is set); the library itself never reads the
// environment.
func ParseEmbedder(spec string, getenv func(string) string) (Embedder, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	kind, arg, _ := strings.Cut(strings.TrimSpace(spec), ":")
	switch kind {
	case "", "offline":
		if arg == "" {
			return OfflineEmbedder(0), nil
		}
		n, err := strconv.Atoi(arg)
		if err != nil || n <= 0 || n > 1<<16 {
			return Embedder{}, fmt.Errorf("%w: offline dimensions %q", ErrNoEmbedder, arg)
		}
		return OfflineEmbedder(n), nil
	case "ollama":
		host := getenv("OLLAMA_HOST")
		if host == "" {
			host = "http://127.0.0.1:11434"
		} else if !strings.Contains(host, "://") {
			host = "http://" + host
		}
		return OllamaEmbedder(OllamaOptions{ServerURL: host, Model: arg})
	case "openai":
		base := getenv("OPENAI_BASE_URL")
		if base == "" {
			base = "https://api.openai.com/v1"
		}
		return OpenAIEmbedder(OpenAIOptions{BaseURL: base, Token: getenv("OPENAI_API_KEY"), Model: arg})
	}
	return Embedder{}, fmt.Errorf("%w: unknown embedder spec %q (want offline, ollama:MODEL or openai:MODEL)", ErrNoEmbedder, spec)
}

func checkURL(s string) error {
	if s == "" {
		return errors.New("no server URL")
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("server URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("server URL %q is not http(s)://host", s)
	}
	return nil
}
