package persona_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms"
)

// call sends one prompt to m without a guard, for the persona who when
// who is not "".
func call(ctx context.Context, m llms.Model, who, prompt string) (string, error) {
	if who != "" {
		ctx = persona.WithPersona(ctx, who)
	}
	return llms.GenerateFromSinglePrompt(ctx, m, prompt)
}

func TestScriptedOrder(t *testing.T) {
	s := persona.NewScripted([]persona.Reply{{Text: "one"}, {Text: "two"}, {Text: "three"}})
	for i, want := range []string{"one", "two", "three"} {
		got, err := call(context.Background(), s, "", fmt.Sprint("prompt ", i))
		require.NoError(t, err, "call %d", i+1)
		require.Equal(t, want, got, "call %d", i+1)
	}
	assert.Zero(t, s.Remaining())
	assert.NoError(t, s.Verify())
	calls := s.Calls()
	if assert.Len(t, calls, 3) {
		assert.Equal(t, 3, calls[2].Reply, "the last call's reply")
		assert.Equal(t, "prompt 2", calls[2].Prompt, "the last call's prompt")
	}
}

func TestScriptedDrift(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		reply   persona.Reply
		who     string
		prompt  string
		wantMsg string
	}{
		{"ExpectMissing", persona.Reply{Expect: "search queries", Text: "[]"}, "", "write the method", `prompt does not contain "search queries"`},
		{"WrongPersona", persona.Reply{Persona: persona.BRICK, Text: "x"}, persona.ROBIN, "anything", "reply is for persona BRICK, but ROBIN asked"},
		{"PersonaCaseInsensitive", persona.Reply{Persona: "brick", Text: "x"}, persona.BRICK, "anything", ""},
		{"PersonaUnknownNotChecked", persona.Reply{Persona: persona.BRICK, Text: "x"}, "", "anything", ""},
		{"ExpectPresent", persona.Reply{Expect: "queries", Text: "x"}, persona.BRICK, "give me queries please", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := persona.NewScripted([]persona.Reply{tc.reply, {Text: "next"}})
			got, err := call(ctx, s, tc.who, tc.prompt)
			if tc.wantMsg == "" {
				require.NoError(t, err)
				require.Equal(t, "x", got)
				return
			}
			var d *persona.DriftError
			require.ErrorAs(t, err, &d)
			require.ErrorIs(t, err, persona.ErrDrift)
			require.Equal(t, 1, d.Reply)
			require.ErrorContains(t, err, tc.wantMsg)
			require.ErrorContains(t, err, "reply 1")
			// The drifted reply is not consumed: the same call fails again.
			_, err = call(ctx, s, tc.who, tc.prompt)
			require.ErrorIs(t, err, persona.ErrDrift, "second call")
			require.Equal(t, 2, s.Remaining())
		})
	}
}

func TestScriptedExhausted(t *testing.T) {
	s := persona.NewScripted([]persona.Reply{{Text: "only"}})
	_, err := s.Call(context.Background(), "a")
	require.NoError(t, err)
	_, err = s.Call(context.Background(), "the unanswered question")
	var ex *persona.ExhaustedError
	require.ErrorAs(t, err, &ex)
	require.ErrorIs(t, err, persona.ErrExhausted)
	require.Equal(t, 1, ex.Replies)
	assert.ErrorContains(t, err, "the unanswered question", "the prompt named")
	// Through Ask the exhaustion is still visible.
	_, err = persona.Ask(context.Background(), s, persona.BRICK, "again")
	require.ErrorIs(t, err, persona.ErrExhausted, "through Ask")
	require.ErrorIs(t, err, persona.ErrModelFailed, "through Ask")
}

func TestScriptedVerifyUnused(t *testing.T) {
	s := persona.NewScripted([]persona.Reply{{Text: "a"}, {Expect: "synthesize", Text: "b"}})
	_, err := s.Call(context.Background(), "x")
	require.NoError(t, err)
	err = s.Verify()
	require.ErrorContains(t, err, "1 of 2 replies unused")
	require.ErrorContains(t, err, `"synthesize"`, "the next expectation named")
}

func TestScriptedFailAndStop(t *testing.T) {
	s := persona.NewScripted([]persona.Reply{{Fail: "GPU on fire"}, {Text: "cut", StopReason: "length"}})
	_, err := s.Call(context.Background(), "x")
	require.ErrorIs(t, err, persona.ErrScriptedFailure)
	require.ErrorContains(t, err, "GPU on fire")
	resp, err := s.GenerateContent(context.Background(), []llms.MessageContent{llms.TextParts(llms.ChatMessageTypeHuman, "y")})
	require.NoError(t, err)
	require.Equal(t, "length", resp.Choices[0].StopReason)
	require.Equal(t, "cut", resp.Choices[0].Content)
}

func TestScriptedDelayAndHang(t *testing.T) {
	s := persona.NewScripted([]persona.Reply{{Text: "slow", Delay: time.Hour}, {Hang: true}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err := s.Call(ctx, "a")
	require.ErrorIs(t, err, context.DeadlineExceeded, "delay past the deadline")
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel2() }()
	_, err = s.Call(ctx2, "b")
	require.ErrorIs(t, err, context.Canceled, "hang")
}

// Concurrent callers take every reply exactly once (run with -race).
func TestScriptedConcurrent(t *testing.T) {
	const n = 64
	rs := make([]persona.Reply, n)
	for i := range rs {
		rs[i] = persona.Reply{Text: fmt.Sprint(i)}
	}
	s := persona.NewScripted(rs)
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for range n + 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := s.Call(context.Background(), "p")
			if err != nil {
				assert.ErrorIs(t, err, persona.ErrExhausted)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			assert.False(t, seen[got], "reply %s given twice", got)
			seen[got] = true
		}()
	}
	wg.Wait()
	require.Len(t, seen, n, "distinct replies")
}

const scriptFile = `# A conversation: decompose, then synthesize.
{"persona": "BRICK", "expect": "search queries", "text": "[\"greeting\", \"architect\"]"}

// Comments and blank lines are skipped.
{"expect": "greet_the_architect", "text": "ok", "delay": "1ms"}
{"hang": true}
`

func TestParseScript(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "replies.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(scriptFile), 0o644))
	parsed, err := persona.ParseScript(path, []byte(scriptFile))
	require.NoError(t, err)
	fromSpec, err := persona.NewModel("scripted:"+path, persona.Options{})
	require.NoError(t, err)
	fromSpecFS, err := persona.NewModel("scripted:replies.jsonl", persona.Options{ScriptFS: fstest.MapFS{"replies.jsonl": {Data: []byte(scriptFile)}}})
	require.NoError(t, err)
	want := []persona.Reply{
		{Persona: "BRICK", Expect: "search queries", Text: `["greeting", "architect"]`},
		{Expect: "greet_the_architect", Text: "ok", Delay: time.Millisecond},
		{Hang: true},
	}
	for name, m := range map[string]llms.Model{"parsed": parsed, "spec": fromSpec, "specFS": fromSpecFS} {
		s, ok := m.(*persona.Scripted)
		if assert.True(t, ok, "%s: got %T, want a *persona.Scripted", name, m) {
			assert.Equal(t, want, persona.ScriptedReplies(s), name)
		}
	}
	// Drift names the file and line.
	for name, m := range map[string]llms.Model{"parsed": parsed, "spec": fromSpec} {
		_, err = call(context.Background(), m, persona.BRICK, "write the code")
		var d *persona.DriftError
		require.ErrorAs(t, err, &d, name)
		require.Equal(t, 2, d.Line, "%s: drift line", name)
		require.Equal(t, path, d.Source, "%s: drift source", name)
		require.ErrorContains(t, err, "line 2", name)
	}
}

// A script file that runs out says so, naming the file.
func TestScriptFileExhausted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "short.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(`{"text": "the only reply"}`+"\n"), 0o644))
	m, err := persona.NewModel("scripted:"+path, persona.Options{})
	require.NoError(t, err)
	got, err := persona.Ask(context.Background(), m, persona.BRICK, "one")
	require.NoError(t, err)
	require.Equal(t, "the only reply", got)
	_, err = persona.Ask(context.Background(), m, persona.BRICK, "two")
	require.ErrorIs(t, err, persona.ErrExhausted)
	require.ErrorContains(t, err, "all 1 replies of "+path)
}

func TestParseScriptErrors(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		line       int
		msg        string
	}{
		{"BadJSON", "{\"text\": \"a\"}\n{\"text\": oops}\n", 2, "invalid character"},
		{"UnknownField", "{\"txt\": \"typo\"}\n", 1, `unknown field "txt"`},
		{"BadDelay", "{\"text\": \"a\", \"delay\": \"soon\"}\n", 1, "delay"},
		{"NoText", "{\"persona\": \"BRICK\"}\n", 1, `no "text"`},
		{"Empty", "# nothing\n\n", 0, "no replies"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := persona.ParseScript("s.jsonl", []byte(tc.data))
			var se *persona.ScriptError
			require.ErrorAs(t, err, &se)
			require.ErrorIs(t, err, persona.ErrScript)
			require.Equal(t, tc.line, se.Line)
			require.ErrorContains(t, err, tc.msg)
		})
	}
	_, err := persona.NewModel("scripted:"+filepath.Join(t.TempDir(), "missing.jsonl"), persona.Options{})
	require.ErrorIs(t, err, persona.ErrScript, "missing file")
}

// A reply written with MarshalJSON reads back equal.
func TestReplyJSONRoundTrip(t *testing.T) {
	r := persona.Reply{Persona: "BABS", Expect: "data", Text: "line1\nline2 \"q\"", StopReason: "length", Delay: 250 * time.Millisecond, Hang: true, Fail: "no"}
	b, err := r.MarshalJSON()
	require.NoError(t, err)
	s, err := persona.ParseScript("rt", b)
	require.NoError(t, err)
	require.Equal(t, r, persona.ScriptedReplies(s)[0], "line %s", b)
}
