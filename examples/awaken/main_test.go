package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) {
	live.ServeIfWorker()
	os.Exit(m.Run())
}

func noEnv(string) string { return "" }

// The README's first command, run offline: the cycle walks every state,
// the guardian's rejection is corrected, and the reopened image answers
// without a cycle. An image named with -image is kept, and says so.
func TestAwakenOffline(t *testing.T) {
	var out bytes.Buffer
	dir := t.TempDir()
	err := run(context.Background(), []string{"-image", dir}, &out, noEnv)
	require.NoError(t, err, "output:\n%s", out.String())
	got := out.String()
	for _, want := range []string{
		"offline", "IDLE", "DECOMPOSING", "DELEGATING", "SYNTHESIZING", "VALIDATING", "COMPLETE",
		"rejected:", "greet_the_architect v1", "defer self.MarkChanged()",
		"greeting #1", "greeting #2", "0 cycle events",
		"for object 3 (genesis)", "on object 3 (genesis)",
		"the image stays in " + dir,
	} {
		assert.Contains(t, got, want)
	}
	assert.NotContains(t, got, "deleted")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.NotEmpty(t, entries, "the image is kept")

	// No state line is empty: each names its state and says something.
	stateLine := regexp.MustCompile(`^\[\d\d:\d\d:\d\d\.\d{3}\] [A-Z_]+\s*$`)
	for _, line := range strings.Split(got, "\n") {
		assert.False(t, stateLine.MatchString(line), "an empty state line: %q", line)
		assert.Equal(t, strings.TrimRight(line, " "), line, "trailing spaces: %q", line)
	}
}

// Without -image, awaken works in a temporary image and says when it
// deletes it.
func TestAwakenDeletesItsTemporaryImage(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), nil, &out, noEnv)
	require.NoError(t, err, "output:\n%s", out.String())
	m := regexp.MustCompile(`deleted the temporary image (\S+)`).FindStringSubmatch(out.String())
	require.NotNil(t, m, "output:\n%s", out.String())
	require.Contains(t, out.String(), "image: "+m[1]+" (temporary")
	_, err = os.Stat(m[1])
	require.ErrorIs(t, err, os.ErrNotExist)
}

// script writes the replies to a script file for -model scripted:FILE.
func script(t *testing.T, replies ...persona.Reply) string {
	t.Helper()
	var b bytes.Buffer
	for _, r := range replies {
		line, err := json.Marshal(r)
		require.NoError(t, err)
		b.Write(line)
		b.WriteByte('\n')
	}
	path := filepath.Join(t.TempDir(), "replies.jsonl")
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o600))
	return path
}

// shipped returns the replies that ship inside the binary.
func shipped(t *testing.T) []persona.Reply {
	t.Helper()
	var out []persona.Reply
	for _, line := range strings.Split(strings.TrimSpace(string(replies)), "\n") {
		var r persona.Reply
		require.NoError(t, json.Unmarshal([]byte(line), &r))
		out = append(out, r)
	}
	require.Len(t, out, 3)
	return out
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader on other
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// While a model thinks, awaken says so, with the seconds elapsed.
func TestAwakenShowsWaiting(t *testing.T) {
	rs := shipped(t)
	rs[1].Delay = 700 * time.Millisecond
	var out bytes.Buffer
	err := run(context.Background(), []string{"-image", t.TempDir(), "-waiting", "200ms", "-model", "scripted:" + script(t, rs...)}, &out, noEnv)
	require.NoError(t, err, "output:\n%s", out.String())
	require.Regexp(t, `waiting for ALFRED's model… 0\.[2-9]s`, out.String())
}

// Ctrl-C while the model thinks ends the cycle cleanly: awaken returns at
// once, says so, and the image keeps the cycle's record, FAILED, and
// nothing else of it.
func TestAwakenInterrupted(t *testing.T) {
	rs := shipped(t)
	rs[1].Delay = time.Hour
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-image", dir, "-waiting", "100ms", "-model", "scripted:" + script(t, rs...)}, out, noEnv)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "waiting for ALFRED's model") {
		require.True(t, time.Now().Before(deadline), "the model was never asked; output:\n%s", out.String())
		time.Sleep(20 * time.Millisecond)
	}
	cancel() // Ctrl-C
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		require.FailNow(t, "awaken did not end after Ctrl-C", "output:\n%s", out.String())
	}
	require.ErrorIs(t, err, errInterrupted)
	require.ErrorIs(t, err, context.Canceled)
	require.Regexp(t, `interrupted: cycle \S+ stopped in SYNTHESIZING and is recorded as FAILED`, out.String())

	m, err := psm.Open(context.Background(), dir, psm.Options{Model: persona.NewScripted(nil)})
	require.NoError(t, err)
	defer m.Close()
	recs, err := m.Cycles(context.Background())
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Equal(t, psm.Failed, recs[0].Outcome)
	require.Equal(t, psm.Synthesizing, recs[0].FailedIn)
	require.Contains(t, recs[0].Error, "context canceled")
	require.NoError(t, m.Image().View(context.Background(), func(tx *uvm.Tx) error {
		g, err := tx.Object(m.Genesis())
		if err != nil {
			return err
		}
		require.False(t, g.Has("greet_the_architect"), "nothing was installed")
		return nil
	}))
}

// farewellSrc greets, and from the second greeting on also says
// farewell, a message nothing understands until a cycle writes it. The
// file holds both methods, so the one reply answers either cycle.
const farewellSrc = "```go\n" + `package greeting

import (
	"fmt"

	"batos"
)

// greet_the_architect counts the greetings; from the second on it also
// says farewell.
func greet_the_architect(self batos.Self, args []any) (any, error) {
	defer self.MarkChanged()
	n, _ := self.Get("greetings").(int64)
	n++
	if err := self.Set("greetings", n); err != nil {
		return nil, err
	}
	if n < 2 {
		return fmt.Sprintf("Hello (greeting #%d).", n), nil
	}
	bye, err := self.Send("farewell")
	if err != nil {
		return nil, err
	}
	return fmt.Sprintf("Hello again (greeting #%d). %v", n, bye), nil
}

// farewell says goodbye.
func farewell(self batos.Self, args []any) (any, error) {
	return "Farewell.", nil
}
` + "```\n"

// After the restart the method may itself send a message nothing
// understands yet: a cycle writes that one, and awaken says the method
// survived (it used to say it did not).
func TestAwakenMethodSendsAfterRestart(t *testing.T) {
	path := script(t,
		persona.Reply{Persona: "BRICK", Text: `{"queries": ["greeting"]}`},
		persona.Reply{Persona: "ALFRED", Text: farewellSrc},
	)
	var out bytes.Buffer
	err := run(context.Background(), []string{"-image", t.TempDir(), "-model", "scripted:" + path}, &out, noEnv)
	require.NoError(t, err, "output:\n%s", out.String())
	require.Contains(t, out.String(), "Hello again (greeting #2). Farewell.")
	require.Contains(t, out.String(), "the method survived the restart; it sent farewell, which nothing understood yet, so the system wrote that too")
	require.NotContains(t, out.String(), "did not survive")
}

func TestMissionSelector(t *testing.T) {
	sel, ok := missionSelector(`mission: "fare\"well" for object 3 (nested in cycle c1)`)
	require.True(t, ok)
	require.Equal(t, `fare"well`, sel)
	_, ok = missionSelector("attempt 1 of 3")
	require.False(t, ok)
}
