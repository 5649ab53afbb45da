package persona_test

import (
	"context"
	"testing"
	"testing/fstest"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms"
)

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
	assert.Equal(t, persona.Limits{Timeout: persona.DefaultTimeout, MaxReplyBytes: 1 << 20, MaxWireBytes: 64 << 20,
		StallTimeout: time.Minute, MaxRetries: 2, RetryBackoff: 500 * time.Millisecond, MaxRetryWait: 30 * time.Second}, lim, "default limits")
}
