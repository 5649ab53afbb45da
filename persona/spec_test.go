package persona_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
