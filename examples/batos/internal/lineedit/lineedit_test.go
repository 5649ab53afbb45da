package lineedit_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batos-dev/batos/examples/batos/internal/lineedit"
	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Keys as a terminal sends them.
const (
	up, down, left, right = "\x1b[A", "\x1b[B", "\x1b[D", "\x1b[C"
	home, end, del        = "\x1b[H", "\x1b[F", "\x1b[3~"
	ctrlA, ctrlC, ctrlD   = "\x01", "\x03", "\x04"
	ctrlK, ctrlU, ctrlW   = "\x0b", "\x15", "\x17"
	backspace, enter      = "\x7f", "\r"
)

// screen collects what the editor draws.
type screen struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// terminal is an editor on a pseudo-terminal; the test types on its
// other side.
type terminal struct {
	ed     *lineedit.Editor
	tty    *os.File
	master *os.File
	screen *screen
	n      int
}

func newTerminal(t *testing.T) *terminal {
	t.Helper()
	master, tty, err := pty.Open()
	require.NoError(t, err)
	require.NoError(t, pty.Setsize(master, &pty.Winsize{Rows: 24, Cols: 60}))
	tm := &terminal{ed: lineedit.New(tty, tty), tty: tty, master: master, screen: &screen{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1024)
		for {
			n, err := master.Read(buf)
			tm.screen.mu.Lock()
			tm.screen.b.Write(buf[:n])
			tm.screen.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		master.WriteString(ctrlU + ctrlD) // ends a ReadLine a failed test left waiting
		tty.Close()
		<-done // the other side reads EIO once the terminal is closed
		master.Close()
	})
	return tm
}

// read runs ReadLine, types keys once the prompt shows (the terminal is
// raw then), and returns what ReadLine returned.
func (tm *terminal) read(t *testing.T, keys ...string) (string, error) {
	t.Helper()
	tm.n++
	prompt := fmt.Sprintf("p%d> ", tm.n)
	type result struct {
		line string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		l, err := tm.ed.ReadLine(prompt, "... ")
		got <- result{l, err}
	}()
	require.Eventually(t, func() bool { return strings.Contains(tm.screen.String(), prompt) }, 5*time.Second, time.Millisecond)
	for _, k := range keys {
		_, err := tm.master.WriteString(k)
		require.NoError(t, err)
	}
	select {
	case r := <-got:
		return r.line, r.err
	case <-time.After(5 * time.Second):
		t.Fatalf("ReadLine did not return; the screen shows %q", tm.screen.String())
		return "", nil
	}
}

func termios(t *testing.T, f *os.File) unix.Termios {
	t.Helper()
	st, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	require.NoError(t, err)
	return *st
}

// The editing keys.
func TestEditing(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys []string
		want string
	}{
		{"plain", []string{"hello", enter}, "hello"},
		{"insert in the middle", []string{"helo", left, "l", enter}, "hello"},
		{"home and end", []string{"ello", home, "h", end, "!", enter}, "hello!"},
		{"ctrl-a", []string{"world", ctrlA, "hello ", enter}, "hello world"},
		{"backspace", []string{"helloo", backspace, enter}, "hello"},
		{"delete and ctrl-d under the cursor", []string{"xhello", home, del, end, "!", left, ctrlD, enter}, "hello"},
		{"ctrl-u", []string{"junk junk", ctrlU, "hello", enter}, "hello"},
		{"ctrl-k", []string{"hello junk", left, left, left, left, left, ctrlK, enter}, "hello"},
		{"ctrl-w", []string{"hello big world", ctrlW, ctrlW, "world", enter}, "hello world"},
		{"unicode", []string{"héllo wörld", left, left, left, backspace, "o", enter}, "héllo world"},
		{"a continued line", []string{`send add to genesis \`, enter, "with 2, 40", enter}, "send add to genesis \nwith 2, 40"},
		{"a line wider than the terminal", []string{strings.Repeat("x", 100), enter}, strings.Repeat("x", 100)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tm := newTerminal(t)
			got, err := tm.read(t, tc.keys...)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// Up and down walk the history; the line being written comes back.
func TestHistory(t *testing.T) {
	tm := newTerminal(t)
	for _, l := range []string{"one", "two", "two"} {
		tm.read(t, l, enter)
	}
	tm.read(t, `three \`, enter, "four", enter)
	assert.Equal(t, []string{"one", "two", "three four"}, tm.ed.History(), "repeats folded, continued lines joined")

	got, err := tm.read(t, up, up, up, enter)
	require.NoError(t, err)
	assert.Equal(t, "one", got)
	got, _ = tm.read(t, "dra", up, up, down, down, "ft", enter)
	assert.Equal(t, "draft", got, "down past the newest entry gives the draft back")
	got, _ = tm.read(t, up, " again", enter)
	assert.Equal(t, "draft again", got)
}

// Ctrl-C drops the line; Ctrl-D ends the input on an empty line only; the
// terminal is left as it was found; a paste of several lines gives them
// one by one.
func TestInterruptEndAndPaste(t *testing.T) {
	tm := newTerminal(t)
	before := termios(t, tm.tty)
	_, err := tm.read(t, "half a thought", ctrlC)
	assert.ErrorIs(t, err, lineedit.ErrInterrupted)
	assert.Eventually(t, func() bool { return strings.Contains(tm.screen.String(), "^C") }, 5*time.Second, time.Millisecond)
	assert.Equal(t, before, termios(t, tm.tty), "raw mode ends with ReadLine")

	_, err = tm.read(t, `a \`, enter, ctrlC)
	assert.ErrorIs(t, err, lineedit.ErrInterrupted, "Ctrl-C drops continued lines too")

	got, err := tm.read(t, "first"+enter+"second"+enter)
	require.NoError(t, err)
	assert.Equal(t, "first", got)
	got, err = tm.read(t)
	require.NoError(t, err)
	assert.Equal(t, "second", got, "the rest of the paste")

	_, err = tm.read(t, ctrlD)
	assert.True(t, errors.Is(err, io.EOF), "got %v", err)
	assert.Equal(t, before, termios(t, tm.tty))
}
