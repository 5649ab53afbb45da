package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runWith runs the command line in process, reading stdin.
func (c *cli) runWith(stdin io.Reader, args ...string) result {
	var out, errw syncBuffer
	code := execute(context.Background(), newApp(stdin, &out, &errw, c.getenv, c.sigs.notify, c.sigs.stop), args)
	return result{code: code, stdout: out.String(), stderr: errw.String()}
}

// A request in natural language: ALFRED's model (scripted) reads it into
// a brief for genesis count_words, the cycle's states show as they pass,
// the new method answers.
func TestConsoleNaturalLanguage(t *testing.T) {
	c := newCLI(nil)
	k := startKernel(t, c, filepath.Join(t.TempDir(), "img"), "--model", "scripted:testdata/count_words.jsonl")
	r := newCLI(nil).runWith(strings.NewReader("give genesis a method that counts words in a text\n"), "console", "--kernel", k.url)
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, `brief: genesis count_words "the quick brown fox"  (ALFRED)`)
	assert.Contains(t, r.stdout, "intent: count the words of a text")
	assert.Contains(t, r.stdout, "→ 4\n")
	assert.True(t, strings.HasSuffix(r.stdout, "bye\n"), "stdout:\n%s", r.stdout)
	assert.Contains(t, r.stderr, "reading it with ALFRED")
	for _, s := range []string{"IDLE", "DECOMPOSING", "DELEGATING", "SYNTHESIZING", "VALIDATING", "COMPLETE"} {
		assert.Contains(t, r.stderr, s, "the cycle's states show")
	}
	assert.Less(t, strings.Index(r.stderr, "DECOMPOSING"), strings.Index(r.stderr, "COMPLETE"))
}

// When the model cannot read a request, the rules read the common forms;
// /send sends as written, /brief only shows; what nothing reads is said
// plainly, and the console goes on.
func TestConsoleRules(t *testing.T) {
	c := newCLI(nil)
	k := startKernel(t, c, filepath.Join(t.TempDir(), "img"), "--model", "scripted:testdata/add.jsonl")
	in := strings.Join([]string{
		"send add to genesis with 2, 40",
		"genesis add 1 2",
		"/brief ask genesis to add 3 4",
		"/send genesis add 5 6",
		"hello there",
		"send add to nobody with 1, 2",
		"/roots",
		`ask genesis \`,
		"to add 7 8",
		"/quit",
		"genesis add 100 1",
	}, "\n") + "\n"
	r := newCLI(nil).runWith(strings.NewReader(in), "console", "--kernel", k.url)
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "brief: genesis add 2 40  (rules; ALFRED's model failed)\n")
	for _, want := range []string{"→ 42", "→ 3", "brief: genesis add 3 4  (rules", "→ 11", "→ 15", "brief: genesis add 5 6  (as written)"} {
		assert.Contains(t, r.stdout, want)
	}
	assert.NotContains(t, r.stdout, "→ 7\n", "/brief sends nothing")
	assert.NotContains(t, r.stdout, "→ 101", "/quit ends the console")
	assert.Contains(t, r.stdout, `✗ ALFRED's model failed, and no rule reads it: try "send SELECTOR to OBJECT with A, B"`)
	assert.Contains(t, r.stdout, `✗ imageview: no root named "nobody"`)
	assert.Contains(t, r.stdout, "genesis  ")
	assert.Contains(t, r.stderr, "DECOMPOSING", "the first send ran a cycle")

	// --rules asks no model.
	r = newCLI(nil).runWith(strings.NewReader("genesis add 20 22\n"), "console", "--kernel", k.url, "--rules")
	require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	assert.Contains(t, r.stdout, "brief: genesis add 20 22  (rules)\n")
	assert.Contains(t, r.stdout, "→ 42")
	assert.NotContains(t, r.stderr, "reading it with")
}

func TestConsoleUsage(t *testing.T) {
	r := newCLI(nil).run("console")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "console talks to a running kernel: give --kernel URL or $BATOS_KERNEL")
	r = newCLI(nil).run("console", "--kernel", "http://127.0.0.1:1", "--persona", "NOBODY")
	assert.Equal(t, exitUsage, r.code)
	r = newCLI(nil).run("console", "--kernel", "http://127.0.0.1:1")
	assert.Equal(t, exitFailed, r.code, "no kernel there: %s", r.stderr)
}

// ptyScreen is what a program wrote to its terminal.
type ptyScreen struct {
	mu   sync.Mutex
	text strings.Builder
	seen int // how far expect has read
}

func (s *ptyScreen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.text.String()
}

// expect waits until the screen shows want after what expect saw last.
func (s *ptyScreen) expect(t *testing.T, want string) {
	t.Helper()
	ok := assert.Eventually(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		i := strings.Index(s.text.String()[s.seen:], want)
		if i < 0 {
			return false
		}
		s.seen += i + len(want)
		return true
	}, 20*time.Second, 5*time.Millisecond, "the terminal should show %q", want)
	if !ok {
		t.Fatalf("the terminal shows:\n%s", s.String())
	}
}

// The console on a terminal (a pseudo-terminal, the command in a process
// of its own): a continued line, the brief and the cycle's states, Ctrl-C
// cancels the running cycle (it fails; the image is unchanged) and the
// console goes on, up recalls the last request, Ctrl-D leaves.
func TestConsoleTerminal(t *testing.T) {
	c := newCLI(nil)
	k := startKernel(t, c, filepath.Join(t.TempDir(), "img"), "--model", "scripted:testdata/count_words_hang.jsonl")
	cmd := exec.Command(os.Args[0], "console", "--kernel", k.url)
	cmd.Env = append(os.Environ(), envAsCommand+"=1")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	require.NoError(t, err)
	screen := &ptyScreen{}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			screen.mu.Lock()
			screen.text.Write(buf[:n])
			screen.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		tty.Close()
		<-copied
	})
	typeKeys := func(keys string) {
		_, err := tty.WriteString(keys)
		require.NoError(t, err)
	}

	screen.expect(t, "batos> ")
	typeKeys(`give genesis a method that \` + "\r")
	screen.expect(t, "...> ")
	typeKeys("counts words in a text\r")
	screen.expect(t, `brief: genesis count_words "the quick brown fox"  (ALFRED)`)
	screen.expect(t, "DECOMPOSING")
	time.Sleep(100 * time.Millisecond) // the model hangs: the cycle waits in DECOMPOSING
	typeKeys("\x03")
	screen.expect(t, "cancelled: a running cycle fails, and the image stays as it was")
	screen.expect(t, "batos> ")

	assert.Eventually(t, func() bool {
		_, body := get(t, k.url+"/api/cycles", "")
		var page struct {
			Cycles []struct {
				Selector string `json:"selector"`
				Outcome  string `json:"outcome"`
			} `json:"cycles"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &page))
		return len(page.Cycles) == 1 && page.Cycles[0].Selector == "count_words" && page.Cycles[0].Outcome == "FAILED"
	}, 10*time.Second, 20*time.Millisecond, "the cancelled cycle failed")
	_, body := get(t, k.url+"/api/objects/genesis", "")
	assert.NotContains(t, body, "count_words", "the image is unchanged")

	typeKeys("\x1b[A") // up: the last request, its lines joined
	screen.expect(t, "give genesis a method that counts words in a text")
	typeKeys("\x15/roots\r") // Ctrl-U clears it
	screen.expect(t, "genesis  ")
	screen.expect(t, "batos> ")
	typeKeys("\x04")
	screen.expect(t, "bye")
	select {
	case <-exited:
		assert.NoError(t, waitErr, "the console exits 0 on Ctrl-D")
	case <-time.After(10 * time.Second):
		t.Fatal("the console did not exit on Ctrl-D")
	}
}
