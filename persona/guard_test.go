package persona_test

import (
	"context"
	"testing"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/persona/personatest"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms"
)

// The guard calls a reply truncated only when its last fence is open and
// what it holds is incomplete, as ExtractCode does: a lone closing fence
// after unfenced code, or an open block of complete Go or JSON, is a
// usable reply.
func TestGuardOpenFence(t *testing.T) {
	const code = "package m\n\nfunc f(self batos.Self, args []any) (any, error) {\n\treturn nil, nil\n}\n"
	for _, tc := range []struct {
		name, reply string
		want        error
	}{
		{"LoneClosingFence", code + "```\n", nil},
		{"LoneClosingFenceGluedText", code + "```### Instruction\nNext.", nil},
		{"OpenBlockCompleteGo", "```go\n" + code, nil},
		{"OpenBlockCompleteJSON", "```json\n{\"queries\": [\"a\"]}\n", nil},
		{"OpenBlockCutGo", "```go\npackage m\n\nfunc f(self batos.Self, args []any) (any, error) {\n", persona.ErrTruncated},
		{"OpenBlockCutJSON", "```json\n{\"queries\": [\"a\"", persona.ErrTruncated},
		{"OpenBlockProse", "```text\nand then", persona.ErrTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := persona.Ask(context.Background(), persona.NewScripted([]persona.Reply{{Text: tc.reply}}), persona.BRICK, "write f")
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.reply, got)
		})
	}
}

// An empty reply's message names the provider that was used: only
// Ollama's speaks of Ollama (issue 12, item 9).
func TestEmptyReplyNamesProvider(t *testing.T) {
	ctx := context.Background()
	empty := persona.Reply{Text: "", StopReason: "stop"}
	for _, tc := range []struct {
		name     string
		model    func(t *testing.T) llms.Model
		say, not string
	}{
		{"Ollama", func(t *testing.T) llms.Model {
			srv := personatest.NewOllama(t, personatest.Turn{Reply: persona.Reply{Text: "half"}, NoFinal: true})
			return mustModel(t, "ollama:m@"+srv.URL, persona.Options{})
		}, "Ollama", "OpenAI"},
		{"OpenAI", func(t *testing.T) llms.Model {
			srv := personatest.NewOpenAI(t, personatest.Turn{Reply: empty})
			return mustModel(t, "openai:m@"+srv.URL+"/v1", persona.Options{})
		}, "OpenAI", "Ollama"},
		{"Scripted", func(t *testing.T) llms.Model { return persona.NewScripted([]persona.Reply{empty}) }, "scripted", "Ollama"},
		{"HostModel", func(t *testing.T) llms.Model { return noChoiceText{} }, "persona_test.noChoiceText", "Ollama"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := persona.Ask(ctx, tc.model(t), persona.BRICK, "write", persona.WithRetries(0))
			require.ErrorIs(t, err, persona.ErrEmptyReply)
			require.ErrorContains(t, err, tc.say)
			require.NotContains(t, err.Error(), tc.not)
		})
	}
}

// noChoiceText is a host's model that answers a choice without text.
type noChoiceText struct{}

func (noChoiceText) GenerateContent(context.Context, []llms.MessageContent, ...llms.CallOption) (*llms.ContentResponse, error) {
	return &llms.ContentResponse{Choices: []*llms.ContentChoice{{StopReason: "stop"}}}, nil
}

func (n noChoiceText) Call(ctx context.Context, s string, o ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, n, s, o...)
}
