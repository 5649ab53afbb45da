package persona_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/tmc/langchaingo/llms"
)

func call(ctx context.Context, m llms.Model, who, prompt string) (string, error) {
	if who != "" {
		ctx = persona.WithPersona(ctx, who)
	}
	return m.Call(ctx, prompt)
}

func TestScriptedOrder(t *testing.T) {
	s := persona.NewScripted([]persona.Reply{{Text: "one"}, {Text: "two"}, {Text: "three"}})
	for i, want := range []string{"one", "two", "three"} {
		got, err := call(context.Background(), s, "", fmt.Sprint("prompt ", i))
		if err != nil || got != want {
			t.Fatalf("call %d: got %q, %v; want %q", i+1, got, err, want)
		}
	}
	if n := s.Remaining(); n != 0 {
		t.Errorf("got %d remaining, want 0", n)
	}
	if err := s.Verify(); err != nil {
		t.Errorf("Verify: %v", err)
	}
	calls := s.Calls()
	if len(calls) != 3 || calls[2].Reply != 3 || calls[2].Prompt != "prompt 2" {
		t.Errorf("got calls %+v, want three, the last reply 3 to \"prompt 2\"", calls)
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
				if err != nil || got != "x" {
					t.Fatalf("got %q, %v; want \"x\"", got, err)
				}
				return
			}
			var d *persona.DriftError
			if !errors.As(err, &d) || !errors.Is(err, persona.ErrDrift) {
				t.Fatalf("got %q, %v; want a *DriftError", got, err)
			}
			if d.Reply != 1 || !strings.Contains(err.Error(), tc.wantMsg) || !strings.Contains(err.Error(), "reply 1") {
				t.Fatalf("got %q, want reply 1 and %q named", err, tc.wantMsg)
			}
			// The drifted reply is not consumed: the same call fails again.
			if _, err2 := call(ctx, s, tc.who, tc.prompt); !errors.Is(err2, persona.ErrDrift) {
				t.Fatalf("second call: got %v, want the same drift", err2)
			}
			if s.Remaining() != 2 {
				t.Fatalf("got %d remaining, want 2", s.Remaining())
			}
		})
	}
}

func TestScriptedExhausted(t *testing.T) {
	s := persona.NewScripted([]persona.Reply{{Text: "only"}})
	if _, err := s.Call(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	_, err := s.Call(context.Background(), "the unanswered question")
	var ex *persona.ExhaustedError
	if !errors.As(err, &ex) || !errors.Is(err, persona.ErrExhausted) || ex.Replies != 1 {
		t.Fatalf("got %v, want an *ExhaustedError over 1 reply", err)
	}
	if !strings.Contains(err.Error(), "the unanswered question") {
		t.Errorf("got %q, want the prompt named", err)
	}
	// Through Ask the exhaustion is still visible.
	_, err = persona.Ask(context.Background(), s, persona.BRICK, "again")
	if !errors.Is(err, persona.ErrExhausted) || !errors.Is(err, persona.ErrModelFailed) {
		t.Fatalf("through Ask: got %v, want ErrModelFailed and ErrExhausted", err)
	}
}

func TestScriptedVerifyUnused(t *testing.T) {
	s := persona.NewScripted([]persona.Reply{{Text: "a"}, {Expect: "synthesize", Text: "b"}})
	if _, err := s.Call(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	err := s.Verify()
	if err == nil || !strings.Contains(err.Error(), "1 of 2 replies unused") || !strings.Contains(err.Error(), `"synthesize"`) {
		t.Fatalf("got %v, want 1 of 2 unused, naming the next expectation", err)
	}
}

func TestScriptedFailAndStop(t *testing.T) {
	s := persona.NewScripted([]persona.Reply{{Fail: "GPU on fire"}, {Text: "cut", StopReason: "length"}})
	if _, err := s.Call(context.Background(), "x"); !errors.Is(err, persona.ErrScriptedFailure) || !strings.Contains(err.Error(), "GPU on fire") {
		t.Fatalf("got %v, want ErrScriptedFailure with the message", err)
	}
	resp, err := s.GenerateContent(context.Background(), []llms.MessageContent{llms.TextParts(llms.ChatMessageTypeHuman, "y")})
	if err != nil || resp.Choices[0].StopReason != "length" || resp.Choices[0].Content != "cut" {
		t.Fatalf("got %+v, %v; want \"cut\" stopped by length", resp, err)
	}
}

func TestScriptedDelayAndHang(t *testing.T) {
	s := persona.NewScripted([]persona.Reply{{Text: "slow", Delay: time.Hour}, {Hang: true}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := s.Call(ctx, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("delay past the deadline: got %v, want DeadlineExceeded", err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel2() }()
	if _, err := s.Call(ctx2, "b"); !errors.Is(err, context.Canceled) {
		t.Fatalf("hang: got %v, want Canceled", err)
	}
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
				if !errors.Is(err, persona.ErrExhausted) {
					t.Error(err)
				}
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if seen[got] {
				t.Errorf("reply %s given twice", got)
			}
			seen[got] = true
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("got %d distinct replies, want %d", len(seen), n)
	}
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
	if err := os.WriteFile(path, []byte(scriptFile), 0o644); err != nil {
		t.Fatal(err)
	}
	fromFile, err := persona.LoadScript(path)
	if err != nil {
		t.Fatal(err)
	}
	fromFS, err := persona.LoadScriptFS(fstest.MapFS{"r/replies.jsonl": {Data: []byte(scriptFile)}}, "r/replies.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	fromSpec, err := persona.NewModel("scripted:"+path, persona.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fromSpecFS, err := persona.NewModel("scripted:replies.jsonl", persona.Options{ScriptFS: fstest.MapFS{"replies.jsonl": {Data: []byte(scriptFile)}}})
	if err != nil {
		t.Fatal(err)
	}
	want := []persona.Reply{
		{Persona: "BRICK", Expect: "search queries", Text: `["greeting", "architect"]`},
		{Expect: "greet_the_architect", Text: "ok", Delay: time.Millisecond},
		{Hang: true},
	}
	for name, s := range map[string]*persona.Scripted{"file": fromFile, "fs": fromFS,
		"spec": fromSpec.(*persona.Scripted), "specFS": fromSpecFS.(*persona.Scripted)} {
		got := s.Replies()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: got %+v, want %+v", name, got, want)
		}
	}
	// Drift names the file and line.
	_, err = call(context.Background(), fromFile, persona.BRICK, "write the code")
	var d *persona.DriftError
	if !errors.As(err, &d) || d.Line != 2 || d.Source != path || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("got %v, want a drift at line 2 of %s", err, path)
	}
}

// A script file that runs out says so, naming the file.
func TestScriptFileExhausted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "short.jsonl")
	os.WriteFile(path, []byte(`{"text": "the only reply"}`+"\n"), 0o644)
	m, err := persona.NewModel("scripted:"+path, persona.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := persona.Ask(context.Background(), m, persona.BRICK, "one"); err != nil || got != "the only reply" {
		t.Fatalf("got %q, %v", got, err)
	}
	_, err = persona.Ask(context.Background(), m, persona.BRICK, "two")
	if !errors.Is(err, persona.ErrExhausted) || !strings.Contains(err.Error(), "all 1 replies of "+path) {
		t.Fatalf("got %v, want ErrExhausted naming %s", err, path)
	}
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
			if !errors.As(err, &se) || !errors.Is(err, persona.ErrScript) || se.Line != tc.line || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want a *ScriptError at line %d mentioning %q", err, tc.line, tc.msg)
			}
		})
	}
	if _, err := persona.LoadScript(filepath.Join(t.TempDir(), "missing.jsonl")); !errors.Is(err, persona.ErrScript) {
		t.Fatalf("missing file: got %v, want ErrScript", err)
	}
}

// A reply written with MarshalJSON reads back equal.
func TestReplyJSONRoundTrip(t *testing.T) {
	r := persona.Reply{Persona: "BABS", Expect: "data", Text: "line1\nline2 \"q\"", StopReason: "length", Delay: 250 * time.Millisecond, Hang: true, Fail: "no"}
	b, err := r.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	s, err := persona.ParseScript("rt", b)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Replies()[0]; got != r {
		t.Fatalf("got %+v, want %+v (line %s)", got, r, b)
	}
}
