package persona_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/persona/personatest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms"
)

// recordedReplies are texts that JSON and streaming must carry unchanged.
var recordedReplies = []string{
	`{"queries": ["greeting", "architect"]}`,
	"Here it is:\n\n```go\npackage m\n\nimport \"batos\"\n\n// greet greets.\nfunc greet(self batos.Self, args []any) (any, error) {\n\treturn \"hello, <architect> & “friends”\\n\", nil\n}\n```\n",
	"tabs\tand unicode — ✓, trailing spaces   ",
}

// A conversation recorded through a langchaingo Ollama client, against
// personatest's Ollama server, replays from its script byte for byte:
// through ParseScript and through a scripted:FILE spec, with no server.
func TestRecordingReplaysByteForByte(t *testing.T) {
	ctx := context.Background()
	srv := personatest.NewOllama(t, personatest.Replies(
		persona.Reply{Text: recordedReplies[0]}, persona.Reply{Text: recordedReplies[1]}, persona.Reply{Text: recordedReplies[2]},
	)...)
	client, err := persona.NewModel("ollama:qwen2.5-coder:7b@"+srv.URL, persona.Options{})
	require.NoError(t, err)
	var script bytes.Buffer
	rec := persona.NewRecording(client, &script)

	type turn struct{ who, system, prompt string }
	turns := []turn{
		{persona.BRICK, "You are BRICK.", "Deconstruct the mission \"greet\"."},
		{persona.ALFRED, "You are ALFRED.\nline two", "Write the method greet.\n\twith a tab"},
		{persona.ROBIN, "", "anything else"},
	}
	for i, tu := range turns {
		got, err := persona.Ask(ctx, rec, tu.who, tu.prompt, persona.WithSystem(tu.system), persona.WithTimeout(10*time.Second))
		require.NoError(t, err, "recorded call %d", i+1)
		require.Equal(t, recordedReplies[i], got, "recorded call %d", i+1)
	}
	reqs := srv.Requests()
	require.Len(t, reqs, 3)
	for i, r := range reqs {
		assert.True(t, r.Stream, "request %d streams: the guard sees the Ollama client through the recording", i+1)
	}
	calls := rec.Calls()
	require.Len(t, calls, 3)
	assert.Equal(t, persona.ALFRED, calls[1].Persona)
	assert.Equal(t, "You are ALFRED.\nline two\nWrite the method greet.\n\twith a tab", calls[1].Prompt)
	assert.Equal(t, calls[1].Prompt, calls[1].Reply.Prompt, "the whole prompt is in the script")
	assert.Len(t, rec.Replies(), 3)

	replay := func(t *testing.T, m llms.Model) {
		t.Helper()
		for i, tu := range turns {
			got, err := persona.Ask(ctx, m, tu.who, tu.prompt, persona.WithSystem(tu.system), persona.WithTimeout(10*time.Second))
			require.NoError(t, err, "replayed call %d", i+1)
			require.Equal(t, recordedReplies[i], got, "replayed call %d", i+1)
		}
	}
	t.Run("ParseScript", func(t *testing.T) {
		s, err := persona.ParseScript("recorded", script.Bytes())
		require.NoError(t, err)
		replay(t, s)
		require.NoError(t, s.Verify())
	})
	t.Run("ScriptedSpec", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "recorded.jsonl")
		require.NoError(t, os.WriteFile(path, script.Bytes(), 0o600))
		m, err := persona.NewModel("scripted:"+path, persona.Options{})
		require.NoError(t, err)
		replay(t, m)
		require.NoError(t, m.(*persona.Scripted).Verify())
	})
	t.Run("NewScripted", func(t *testing.T) {
		s := persona.NewScripted(rec.Replies())
		replay(t, s)
		require.NoError(t, s.Verify())
	})
	t.Run("ChangedPromptDrifts", func(t *testing.T) {
		s, err := persona.ParseScript("recorded", script.Bytes())
		require.NoError(t, err)
		_, err = persona.Ask(ctx, s, turns[0].who, turns[0].prompt+" (changed)", persona.WithSystem(turns[0].system))
		require.ErrorIs(t, err, persona.ErrDrift)
		var d *persona.DriftError
		require.ErrorAs(t, err, &d)
		whole := turns[0].system + "\n" + turns[0].prompt
		assert.Equal(t, len(whole), d.Offset, "where the prompts part")
		assert.Contains(t, err.Error(), `at byte 47: want …" BRICK.\nDeconstruct the mission \"greet\".", got …`)
		assert.Contains(t, d.Got, " (changed)")
		_, err = persona.Ask(ctx, s, persona.ALFRED, turns[0].prompt, persona.WithSystem(turns[0].system))
		require.ErrorIs(t, err, persona.ErrDrift, "the recorded persona is checked too")
	})
	assert.Len(t, srv.Requests(), 3, "replays make no request")
}

// A failed attempt is a comment in the script; the retry that follows
// is what replays. A truncated reply replays truncated.
func TestRecordingFailuresAndStopReasons(t *testing.T) {
	ctx := context.Background()
	srv := personatest.NewOllama(t,
		personatest.Turn{Status: 503, Header: map[string]string{"Retry-After": "0"}},
		personatest.Turn{Reply: persona.Reply{Text: "after the retry"}},
		personatest.Turn{Reply: persona.Reply{Text: "cut off here", StopReason: "length"}},
	)
	client, err := persona.NewModel("ollama:m@"+srv.URL, persona.Options{})
	require.NoError(t, err)
	var script bytes.Buffer
	rec := persona.NewRecording(client, &script)
	lim := persona.WithLimits(persona.Limits{RetryBackoff: time.Millisecond, MaxRetryWait: 10 * time.Millisecond})
	got, err := persona.Ask(ctx, rec, persona.BRICK, "first", lim)
	require.NoError(t, err)
	require.Equal(t, "after the retry", got)
	_, err = persona.Ask(ctx, rec, persona.BRICK, "second", lim)
	require.ErrorIs(t, err, persona.ErrTruncated)

	calls := rec.Calls()
	require.Len(t, calls, 3)
	require.Error(t, calls[0].Err)
	lines := strings.Split(strings.TrimSpace(script.String()), "\n")
	require.Len(t, lines, 4, "a header, a failure comment and two replies:\n%s", script.String())
	assert.True(t, strings.HasPrefix(lines[0], "# batos recording of *ollama.LLM"), lines[0])
	assert.True(t, strings.HasPrefix(lines[1], "# call 1 failed (not replayed): "), lines[1])

	s, err := persona.ParseScript("recorded", script.Bytes())
	require.NoError(t, err)
	got, err = persona.Ask(ctx, s, persona.BRICK, "first")
	require.NoError(t, err)
	require.Equal(t, "after the retry", got)
	_, err = persona.Ask(ctx, s, persona.BRICK, "second")
	require.ErrorIs(t, err, persona.ErrTruncated, "the stop reason is recorded")
	require.NoError(t, s.Verify())
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// A recording that cannot write fails the call.
func TestRecordingWriteFailureFailsTheCall(t *testing.T) {
	rec := persona.NewRecording(persona.NewScripted([]persona.Reply{{Text: "ok"}}), failingWriter{})
	_, err := persona.Ask(context.Background(), rec, persona.BRICK, "prompt")
	require.Error(t, err)
	require.ErrorContains(t, err, "disk full")
}
