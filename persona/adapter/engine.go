package adapter

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/batos-dev/batos/persona"
)

// Engine is a model serving engine that can load and unload LoRA adapters
// at runtime. A [Residency] calls it when an adapter becomes hot and when
// it stops being hot. Implementations must honour ctx and be
// idempotent: loading a loaded adapter or unloading an absent one is not an
// error.
type Engine interface {
	// LoadAdapter loads the adapter whose files the manager wrote to dir
	// (adapter_model.safetensors, and adapter_config.json when one was
	// absorbed) under name.
	LoadAdapter(ctx context.Context, name, dir string) error
	// UnloadAdapter frees the adapter's memory in the engine.
	UnloadAdapter(ctx context.Context, name string) error
}

// VLLMEngine is the [Engine] of a vLLM server started with
// VLLM_ALLOW_RUNTIME_LORA_UPDATING=True: it posts {"lora_name","lora_path"}
// to /v1/load_lora_adapter and {"lora_name"} to /v1/unload_lora_adapter.
// Requests then choose the adapter as their model name (see
// persona.Options.Adapters). The server must see the manager's Dir at the
// same path.
type VLLMEngine struct {
	BaseURL string         // e.g. http://localhost:8000 (a trailing /v1 is accepted)
	APIKey  persona.Secret // sent as a bearer token when set
	Client  *http.Client   // nil means a new client with http.DefaultTransport
}

func (v *VLLMEngine) base() string {
	return strings.TrimSuffix(strings.TrimSuffix(v.BaseURL, "/"), "/v1")
}

// LoadAdapter implements Engine.
func (v *VLLMEngine) LoadAdapter(ctx context.Context, name, dir string) error {
	err := postJSON(ctx, v.Client, v.base()+"/v1/load_lora_adapter", v.APIKey,
		map[string]string{"lora_name": name, "lora_path": dir})
	if isHTTP(err, http.StatusBadRequest, "already been loaded") {
		return nil
	}
	if err != nil {
		return &EngineError{Engine: "vllm", Op: "load", Adapter: name, Err: err}
	}
	return nil
}

// UnloadAdapter implements Engine.
func (v *VLLMEngine) UnloadAdapter(ctx context.Context, name string) error {
	err := postJSON(ctx, v.Client, v.base()+"/v1/unload_lora_adapter", v.APIKey, map[string]string{"lora_name": name})
	if isHTTP(err, http.StatusNotFound, "") || isHTTP(err, http.StatusBadRequest, "not found") ||
		isHTTP(err, http.StatusBadRequest, "cannot be found") {
		return nil
	}
	if err != nil {
		return &EngineError{Engine: "vllm", Op: "unload", Adapter: name, Err: err}
	}
	return nil
}

// OllamaEngine is the [Engine] of an Ollama server. Ollama serves an adapter as
// a model of its own (built beforehand from a Modelfile with an ADAPTER
// line, named like the adapter), so loading means asking Ollama to keep
// that model in memory — POST /api/generate with no prompt and
// keep_alive — and unloading means keep_alive 0. The dir is not used.
type OllamaEngine struct {
	BaseURL   string       // "" means persona.DefaultOllamaURL
	KeepAlive string       // how long a loaded adapter stays; "" means "30m", "-1" forever
	Client    *http.Client // nil means a new client with http.DefaultTransport
}

func (o *OllamaEngine) base() string {
	if o.BaseURL == "" {
		return persona.DefaultOllamaURL
	}
	return strings.TrimSuffix(o.BaseURL, "/")
}

// LoadAdapter implements Engine.
func (o *OllamaEngine) LoadAdapter(ctx context.Context, name, _ string) error {
	keep := o.KeepAlive
	if keep == "" {
		keep = "30m"
	}
	if err := postJSON(ctx, o.Client, o.base()+"/api/generate", "",
		map[string]any{"model": name, "keep_alive": keep, "stream": false}); err != nil {
		return &EngineError{Engine: "ollama", Op: "load", Adapter: name, Err: err}
	}
	return nil
}

// UnloadAdapter implements Engine.
func (o *OllamaEngine) UnloadAdapter(ctx context.Context, name string) error {
	err := postJSON(ctx, o.Client, o.base()+"/api/generate", "",
		map[string]any{"model": name, "keep_alive": 0, "stream": false})
	if isHTTP(err, http.StatusNotFound, "") {
		return nil
	}
	if err != nil {
		return &EngineError{Engine: "ollama", Op: "unload", Adapter: name, Err: err}
	}
	return nil
}

func isHTTP(err error, status int, substr string) bool {
	he, ok := err.(*persona.HTTPError)
	return ok && he.StatusCode == status && strings.Contains(strings.ToLower(he.Body), substr)
}

// postJSON posts body as JSON and returns a *persona.HTTPError for a
// status of 400 or more. The response body is read (at most 64 KiB) and
// dropped; an error keeps its first 4 KiB.
func postJSON(ctx context.Context, c *http.Client, url string, key persona.Secret, body any) error {
	if c == nil {
		c = &http.Client{}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+string(key))
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("post %s: %w", req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= http.StatusBadRequest {
		return &persona.HTTPError{StatusCode: resp.StatusCode, Method: req.Method, URL: req.URL.Redacted(), Body: excerpt(string(data), maxExcerpt)}
	}
	return nil
}

// maxExcerpt bounds the response body kept in an error.
const maxExcerpt = 4 << 10

// excerpt cuts s to about n bytes on a rune boundary, saying how much was
// left out.
func excerpt(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("… (%d bytes more)", len(s)-cut)
}
