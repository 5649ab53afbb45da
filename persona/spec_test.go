package persona_test

import (
	"bytes"
	"context"
	"fmt"
	"go/build"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			str := tc.str
			if str == "" {
				str = tc.in
			}
			require.Equal(t, str, got.String(), "String")
		})
	}
	for _, bad := range []string{"", "nocolon", "bogus:model", "ollama:", "ollama:@http://x", "openai:m@ftp://host", "ollama:m@http://", "scripted:"} {
		t.Run("bad/"+bad, func(t *testing.T) {
			_, err := persona.ParseSpec(bad)
			var se *persona.SpecError
			require.ErrorAs(t, err, &se)
			require.ErrorIs(t, err, persona.ErrBadSpec)
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
			_, err := persona.NewModel(tc.spec, tc.opts)
			require.ErrorIs(t, err, tc.want)
		})
	}
	// No network is needed to build any of them.
	for _, spec := range []string{"ollama:m", "openai:gpt-4o-mini", "anthropic:claude-x"} {
		_, err := persona.NewModel(spec, persona.Options{OpenAIKey: "k", AnthropicKey: "k"})
		assert.NoError(t, err, spec)
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
	require.NoError(t, err)
	require.Equal(t, env["BATOS_MODEL"], o.Default)
	require.Equal(t, map[string]string{"BRICK": env["BATOS_MODEL_BRICK"], "CRITIC": env["BATOS_MODEL_CRITIC"]}, o.Specs)
	require.Equal(t, 90*time.Second, o.Limits.Timeout)
	require.Equal(t, persona.Secret("sk-secret"), o.OpenAIKey)
	require.Equal(t, persona.Secret("ak-secret"), o.AnthropicKey)
	require.Equal(t, "http://gpu:11434", o.OllamaURL)
	for key, val := range map[string]string{"BATOS_MODEL": "bogus:x", "BATOS_MODEL_ROBIN": "ollama:", "BATOS_MODEL_TIMEOUT": "soon", "OLLAMA_HOST": "http://"} {
		_, err := persona.OptionsFromEnv(func(k string) string {
			if k == key {
				return val
			}
			return ""
		})
		assert.ErrorContains(t, err, key, "%s=%q: an error naming the variable", key, val)
	}
	o, err = persona.OptionsFromEnv(func(string) string { return "" })
	if assert.NoError(t, err, "empty environment") {
		assert.Empty(t, o.Default, "empty environment")
		assert.Nil(t, o.Specs, "empty environment")
	}
}

func TestSecretsStayOutOfLogs(t *testing.T) {
	o := persona.Options{OpenAIKey: "sk-do-not-print", AnthropicKey: "ak-do-not-print"}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("opts", "key", o.OpenAIKey, "opts", o)
	for _, s := range []string{fmt.Sprintf("%v %+v %#v %s", o, o, o, o.OpenAIKey), buf.String()} {
		require.NotContains(t, s, "do-not-print", "secret leaked")
	}
	require.Empty(t, persona.Secret("").String())
	require.Equal(t, "[redacted]", persona.Secret("x").String())
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
	require.NoError(t, err)
	// BRICK and the default share one script, in one order.
	for _, step := range []struct{ who, want string }{{"BRICK", "brick speaks"}, {"alfred", "alfred speaks"}, {"BRICK", "brick again"}, {"ROBIN", "robin alone"}, {"BABS", "host model"}} {
		got, err := r.Ask(ctx, step.who, "hello")
		require.NoError(t, err, step.who)
		require.Equal(t, step.want, got, step.who)
	}
	// The persona travels with the call: ROBIN's model checks it.
	r2, err := persona.NewRouter(persona.Options{Models: map[string]llms.Model{"": persona.NewScripted([]persona.Reply{{Persona: "BRICK", Text: "x"}})}})
	require.NoError(t, err)
	_, err = r2.Ask(ctx, persona.ROBIN, "hello")
	require.ErrorIs(t, err, persona.ErrDrift, "a drift: the reply is BRICK's")
	assert.Equal(t, "scripted:robin.jsonl", r.Describe("robin"))
	assert.Equal(t, "scripted:shared.jsonl", r.Describe("CRITIC"), "a persona without a route gets the default")
	assert.Equal(t, "default=scripted:shared.jsonl BABS=host model *persona.Scripted BRICK=scripted:shared.jsonl ROBIN=scripted:robin.jsonl", r.String())
	_, err = persona.NewRouter(persona.Options{Specs: map[string]string{"BRICK": "bogus:x"}})
	assert.ErrorIs(t, err, persona.ErrBadSpec, "bad spec")
	assert.ErrorContains(t, err, "BRICK", "bad spec")
	d, err := persona.NewRouter(persona.DefaultOptions())
	if assert.NoError(t, err, "default options") {
		assert.Equal(t, persona.DefaultSpec, d.Describe(persona.ALFRED), "default options")
	}
	lim := persona.DefaultOptions().Limits
	assert.Equal(t, persona.Limits{Timeout: persona.DefaultTimeout, MaxReplyBytes: 1 << 20, MaxWireBytes: 64 << 20}, lim, "default limits")
}

// Imports point down: persona uses uvm and nothing else of the project
// (not its adapter package either); adapter uses persona and uvm;
// personatest uses persona.
func TestImportsPointDown(t *testing.T) {
	for dir, allowed := range map[string][]string{".": {"uvm"}, "adapter": {"persona", "uvm"}, "personatest": {"persona"}} {
		pkg, err := build.ImportDir(dir, 0)
		require.NoError(t, err)
		for _, imp := range pkg.Imports {
			rest, ok := strings.CutPrefix(imp, "github.com/batos-dev/batos/")
			if ok {
				assert.Contains(t, allowed, rest, "%s imports %s", pkg.ImportPath, imp)
			}
		}
	}
}
