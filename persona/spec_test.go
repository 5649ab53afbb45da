package persona_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/build"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/tmc/langchaingo/llms"
)

func TestParseSpec(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want persona.Spec
		str  string
	}{
		{"ollama:qwen2.5-coder:7b", persona.Spec{Provider: "ollama", Model: "qwen2.5-coder:7b"}, "ollama:qwen2.5-coder:7b"},
		{" ollama:qwen2.5-coder:7b@http://gpu:11434 ", persona.Spec{Provider: "ollama", Model: "qwen2.5-coder:7b", URL: "http://gpu:11434"}, "ollama:qwen2.5-coder:7b@http://gpu:11434"},
		{"openai:brick-lora@http://localhost:8000/v1", persona.Spec{Provider: "openai", Model: "brick-lora", URL: "http://localhost:8000/v1"}, ""},
		{"OpenAI:m@HTTPS://user:pw@host/v1", persona.Spec{Provider: "openai", Model: "m", URL: "HTTPS://user:pw@host/v1"}, "openai:m@https://user:xxxxx@host/v1"},
		{"anthropic:claude-3-5-haiku-latest", persona.Spec{Provider: "anthropic", Model: "claude-3-5-haiku-latest"}, ""},
		{"scripted:testdata/replies.jsonl", persona.Spec{Provider: "scripted", Model: "testdata/replies.jsonl"}, ""},
		{"scripted:weird@name.jsonl", persona.Spec{Provider: "scripted", Model: "weird@name.jsonl"}, ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := persona.ParseSpec(tc.in)
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
			str := tc.str
			if str == "" {
				str = tc.in
			}
			if got.String() != str {
				t.Fatalf("String: got %q, want %q", got.String(), str)
			}
		})
	}
	for _, bad := range []string{"", "nocolon", "bogus:model", "ollama:", "ollama:@http://x", "openai:m@ftp://host", "ollama:m@http://", "scripted:"} {
		t.Run("bad/"+bad, func(t *testing.T) {
			_, err := persona.ParseSpec(bad)
			var se *persona.SpecError
			if !errors.As(err, &se) || !errors.Is(err, persona.ErrBadSpec) {
				t.Fatalf("got %v, want a *SpecError", err)
			}
		})
	}
}

func TestNewModelErrors(t *testing.T) {
	for _, tc := range []struct {
		spec string
		opts persona.Options
		want error
	}{
		{"openai:gpt-4o-mini", persona.Options{}, persona.ErrMissingKey},
		{"anthropic:claude-x", persona.Options{}, persona.ErrMissingKey},
		{"scripted:" + filepath.Join("no", "such", "file.jsonl"), persona.Options{}, persona.ErrScript},
		{"ollama:m", persona.Options{OllamaURL: "localhost:11434"}, persona.ErrBadSpec},
		{"nonsense", persona.Options{}, persona.ErrBadSpec},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			if _, err := persona.NewModel(tc.spec, tc.opts); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	// No network is needed to build any of them.
	for _, spec := range []string{"ollama:m", "openai:gpt-4o-mini", "anthropic:claude-x"} {
		if _, err := persona.NewModel(spec, persona.Options{OpenAIKey: "k", AnthropicKey: "k"}); err != nil {
			t.Errorf("%s: %v", spec, err)
		}
	}
}

func TestOptionsFromEnv(t *testing.T) {
	env := map[string]string{
		"BATOS_MODEL":         "ollama:qwen2.5-coder:7b",
		"BATOS_MODEL_BRICK":   "openai:brick@http://gpu:8000/v1",
		"BATOS_MODEL_CRITIC":  "scripted:critic.jsonl",
		"BATOS_MODEL_TIMEOUT": "90s",
		"OPENAI_API_KEY":      "sk-secret",
		"ANTHROPIC_API_KEY":   "ak-secret",
		"OLLAMA_HOST":         "gpu:11434",
	}
	o, err := persona.OptionsFromEnv(func(k string) string { return env[k] }, "critic")
	if err != nil {
		t.Fatal(err)
	}
	if o.Default != env["BATOS_MODEL"] || o.Specs["BRICK"] != env["BATOS_MODEL_BRICK"] || o.Specs["CRITIC"] != env["BATOS_MODEL_CRITIC"] ||
		len(o.Specs) != 2 || o.Limits.Timeout != 90*time.Second || o.OpenAIKey != "sk-secret" || o.AnthropicKey != "ak-secret" ||
		o.OllamaURL != "http://gpu:11434" {
		t.Fatalf("got %+v", o)
	}
	for key, val := range map[string]string{"BATOS_MODEL": "bogus:x", "BATOS_MODEL_ROBIN": "ollama:", "BATOS_MODEL_TIMEOUT": "soon", "OLLAMA_HOST": "http://"} {
		_, err := persona.OptionsFromEnv(func(k string) string {
			if k == key {
				return val
			}
			return ""
		})
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%q: got %v, want an error naming the variable", key, val, err)
		}
	}
	if o, err := persona.OptionsFromEnv(func(string) string { return "" }); err != nil || o.Default != "" || o.Specs != nil {
		t.Errorf("empty environment: got %+v, %v; want zero options", o, err)
	}
}

func TestSecretsStayOutOfLogs(t *testing.T) {
	o := persona.Options{OpenAIKey: "sk-do-not-print", AnthropicKey: "ak-do-not-print"}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("opts", "key", o.OpenAIKey, "opts", o)
	for _, s := range []string{fmt.Sprintf("%v %+v %#v %s", o, o, o, o.OpenAIKey), buf.String()} {
		if strings.Contains(s, "do-not-print") {
			t.Fatalf("secret leaked: %s", s)
		}
	}
	if persona.Secret("").String() != "" || persona.Secret("x").String() != "[redacted]" {
		t.Fatal("Secret.String")
	}
}

func TestRouter(t *testing.T) {
	ctx := context.Background()
	script := []byte(`{"persona": "BRICK", "text": "brick speaks"}
{"persona": "ALFRED", "text": "alfred speaks"}
{"persona": "BRICK", "text": "brick again"}
`)
	fsys := fstest.MapFS{"shared.jsonl": {Data: script}, "robin.jsonl": {Data: []byte(`{"persona": "ROBIN", "text": "robin alone"}`)}}
	host := persona.NewScripted([]persona.Reply{{Persona: "BABS", Text: "host model"}})
	r, err := persona.NewRouter(persona.Options{
		Default:  "scripted:shared.jsonl",
		Specs:    map[string]string{"brick": "scripted:shared.jsonl", "Robin": "scripted:robin.jsonl", "BABS": "bogus:never-built"},
		Models:   map[string]llms.Model{"babs": host},
		ScriptFS: fsys,
	})
	if err != nil {
		t.Fatal(err)
	}
	// BRICK and the default share one script, in one order.
	for _, step := range []struct{ who, want string }{{"BRICK", "brick speaks"}, {"alfred", "alfred speaks"}, {"BRICK", "brick again"}, {"ROBIN", "robin alone"}, {"BABS", "host model"}} {
		got, err := r.Ask(ctx, step.who, "hello")
		if err != nil || got != step.want {
			t.Fatalf("%s: got %q, %v; want %q", step.who, got, err, step.want)
		}
	}
	// The persona travels with the call: ROBIN's model checks it.
	r2, err := persona.NewRouter(persona.Options{Models: map[string]llms.Model{"": persona.NewScripted([]persona.Reply{{Persona: "BRICK", Text: "x"}})}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r2.Ask(ctx, persona.ROBIN, "hello"); !errors.Is(err, persona.ErrDrift) {
		t.Fatalf("got %v, want a drift: the reply is BRICK's", err)
	}
	if got := r.Describe("robin"); got != "scripted:robin.jsonl" {
		t.Errorf("Describe(robin): got %q", got)
	}
	if got := r.Describe("CRITIC"); got != "scripted:shared.jsonl" {
		t.Errorf("Describe of a persona without a route: got %q, want the default", got)
	}
	if got, want := r.String(), "default=scripted:shared.jsonl BABS=host model *persona.Scripted BRICK=scripted:shared.jsonl ROBIN=scripted:robin.jsonl"; got != want {
		t.Errorf("String: got %q, want %q", got, want)
	}
	if _, err := persona.NewRouter(persona.Options{Specs: map[string]string{"BRICK": "bogus:x"}}); !errors.Is(err, persona.ErrBadSpec) || !strings.Contains(err.Error(), "BRICK") {
		t.Errorf("bad spec: got %v, want ErrBadSpec naming BRICK", err)
	}
	d, err := persona.NewRouter(persona.DefaultOptions())
	if err != nil || d.Describe(persona.ALFRED) != persona.DefaultSpec {
		t.Errorf("default options: got %v, %v", d, err)
	}
	if lim := persona.DefaultLimits(); lim.Timeout != persona.DefaultTimeout || lim.MaxReplyBytes != 1<<20 || lim.MaxWireBytes != 64<<20 {
		t.Errorf("DefaultLimits: got %+v", lim)
	}
}

// Imports point down: persona uses uvm and nothing else of the project;
// personatest uses persona.
func TestImportsPointDown(t *testing.T) {
	for dir, allowed := range map[string][]string{".": {"uvm"}, "personatest": {"persona"}} {
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range pkg.Imports {
			rest, ok := strings.CutPrefix(imp, "github.com/batos-dev/batos/")
			if ok && !contains(allowed, rest) {
				t.Errorf("%s imports %s; allowed: %v", pkg.ImportPath, imp, allowed)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
