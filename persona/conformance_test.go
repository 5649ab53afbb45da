package persona_test

import (
	"testing"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/persona/personatest"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms"
)

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    personatest.Factory
	}{
		{"Scripted", func(t *testing.T, rs []persona.Reply) llms.Model { return persona.NewScripted(rs) }},
		{"OllamaClient", func(t *testing.T, rs []persona.Reply) llms.Model {
			srv := personatest.NewOllama(t, personatest.Replies(rs...)...)
			return mustModel(t, "ollama:qwen2.5-coder:7b@"+srv.URL, persona.Options{})
		}},
		{"OpenAIClient", func(t *testing.T, rs []persona.Reply) llms.Model {
			srv := personatest.NewOpenAI(t, personatest.Replies(rs...)...)
			return mustModel(t, "openai:brick-lora@"+srv.URL+"/v1", persona.Options{})
		}},
		{"RouterScripted", func(t *testing.T, rs []persona.Reply) llms.Model {
			r, err := persona.NewRouter(persona.Options{Models: map[string]llms.Model{"": persona.NewScripted(rs)}})
			require.NoError(t, err)
			return r.Model(persona.BRICK)
		}},
		{"RouterOllama", func(t *testing.T, rs []persona.Reply) llms.Model {
			srv := personatest.NewOllama(t, personatest.Replies(rs...)...)
			r, err := persona.NewRouter(persona.Options{Specs: map[string]string{"brick": "ollama:qwen2.5-coder:7b"}, OllamaURL: srv.URL})
			require.NoError(t, err)
			return r.Model(persona.BRICK)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { personatest.Run(t, tc.f) })
	}
}

func mustModel(t *testing.T, spec string, opts persona.Options) llms.Model {
	t.Helper()
	m, err := persona.NewModel(spec, opts)
	require.NoError(t, err, "NewModel(%q)", spec)
	return m
}
