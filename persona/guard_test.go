package persona_test

import (
	"context"
	"testing"

	"github.com/batos-dev/batos/persona"
	"github.com/stretchr/testify/require"
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
