package lineedit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/term"
)

// ErrInterrupted is returned by ReadLine when Ctrl-C drops the line.
var ErrInterrupted = errors.New("lineedit: interrupted")

// maxHistory bounds the history an Editor keeps.
const maxHistory = 1000

// Editor reads lines from a terminal. It is not safe for concurrent use.
type Editor struct {
	in      *os.File
	out     io.Writer
	history []string
	pending []byte // read but not used yet: the rest of a paste
}

// New returns an editor reading keys from in, a terminal, and drawing on
// out.
func New(in *os.File, out io.Writer) *Editor {
	return &Editor{in: in, out: out}
}

// IsTerminal reports whether f is a terminal an Editor can read.
func IsTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// History returns the lines read so far, oldest first.
func (e *Editor) History() []string { return append([]string(nil), e.history...) }

// AddHistory adds a line to the history, as if it had been typed.
func (e *Editor) AddHistory(line string) {
	line = strings.Join(strings.Fields(line), " ")
	if line == "" || (len(e.history) > 0 && e.history[len(e.history)-1] == line) {
		return
	}
	e.history = append(e.history, line)
	if len(e.history) > maxHistory {
		e.history = e.history[len(e.history)-maxHistory:]
	}
}

// ReadLine shows prompt and reads one line. A line ending in a backslash
// continues on the next, shown with the prompt more; the lines come back
// joined by newlines (without the backslashes), and go into the history
// joined by spaces. Ctrl-C returns ErrInterrupted; Ctrl-D on an empty
// line returns io.EOF.
func (e *Editor) ReadLine(prompt, more string) (string, error) {
	fd := int(e.in.Fd())
	old, err := term.MakeRaw(fd)
	if err != nil {
		return "", fmt.Errorf("lineedit: raw mode: %w", err)
	}
	defer term.Restore(fd, old)

	l := &line{ed: e, prompt: prompt, hist: len(e.history)}
	var done []string
	l.draw()
	for {
		k, err := e.key()
		if err != nil {
			e.write("\r\n")
			return "", err
		}
		switch k.code {
		case keyRune:
			l.insert(k.r)
		case keyEnter:
			text := string(l.buf)
			if strings.HasSuffix(text, `\`) {
				done = append(done, strings.TrimSuffix(text, `\`))
				e.write("\r\n")
				l = &line{ed: e, prompt: more, hist: len(e.history)}
				l.draw()
				continue
			}
			e.write("\r\n")
			all := strings.Join(append(done, text), "\n")
			e.AddHistory(all)
			return all, nil
		case keyCtrlC:
			e.write("^C\r\n")
			return "", ErrInterrupted
		case keyCtrlD:
			if len(l.buf) == 0 && len(done) == 0 {
				e.write("\r\n")
				return "", io.EOF
			}
			l.deleteAt()
		case keyBackspace:
			l.backspace()
		case keyDelete:
			l.deleteAt()
		case keyLeft:
			l.move(l.pos - 1)
		case keyRight:
			l.move(l.pos + 1)
		case keyHome:
			l.move(0)
		case keyEnd:
			l.move(len(l.buf))
		case keyUp:
			l.recall(-1)
		case keyDown:
			l.recall(1)
		case keyKillStart:
			l.buf, l.pos = append([]rune(nil), l.buf[l.pos:]...), 0
			l.draw()
		case keyKillEnd:
			l.buf = l.buf[:l.pos]
			l.draw()
		case keyKillWord:
			l.killWord()
		case keyClear:
			e.write("\x1b[H\x1b[2J")
			l.draw()
		}
	}
}

func (e *Editor) write(s string) { io.WriteString(e.out, s) }

// width is the terminal's width in columns.
func (e *Editor) width() int {
	w, _, err := term.GetSize(int(e.in.Fd()))
	if err != nil || w < 20 {
		return 80
	}
	return w
}

// line is the line being edited.
type line struct {
	ed     *Editor
	prompt string
	buf    []rune
	pos    int
	hist   int    // the history entry shown; len(history) is the line being written
	draft  []rune // the line being written, kept while the history is shown
}

func (l *line) insert(r rune) {
	l.buf = append(l.buf[:l.pos], append([]rune{r}, l.buf[l.pos:]...)...)
	l.pos++
	l.draw()
}

func (l *line) backspace() {
	if l.pos == 0 {
		return
	}
	l.buf = append(l.buf[:l.pos-1], l.buf[l.pos:]...)
	l.pos--
	l.draw()
}

func (l *line) deleteAt() {
	if l.pos >= len(l.buf) {
		return
	}
	l.buf = append(l.buf[:l.pos], l.buf[l.pos+1:]...)
	l.draw()
}

func (l *line) move(pos int) {
	l.pos = max(0, min(pos, len(l.buf)))
	l.draw()
}

func (l *line) killWord() {
	i := l.pos
	for i > 0 && unicode.IsSpace(l.buf[i-1]) {
		i--
	}
	for i > 0 && !unicode.IsSpace(l.buf[i-1]) {
		i--
	}
	l.buf = append(l.buf[:i], l.buf[l.pos:]...)
	l.pos = i
	l.draw()
}

// recall shows the previous (-1) or next (+1) history entry.
func (l *line) recall(dir int) {
	h := l.ed.history
	next := l.hist + dir
	if next < 0 || next > len(h) {
		return
	}
	if l.hist == len(h) {
		l.draft = append([]rune(nil), l.buf...)
	}
	l.hist = next
	if next == len(h) {
		l.buf = append([]rune(nil), l.draft...)
	} else {
		l.buf = []rune(h[next])
	}
	l.pos = len(l.buf)
	l.draw()
}

// draw redraws the line: the prompt, the part of the line around the
// cursor that fits, and the cursor.
func (l *line) draw() {
	avail := l.ed.width() - utf8.RuneCountInString(l.prompt) - 1
	start := 0
	if l.pos > avail {
		start = l.pos - avail
	}
	end := min(len(l.buf), start+avail)
	var b bytes.Buffer
	b.WriteString("\r")
	b.WriteString(l.prompt)
	b.WriteString(string(l.buf[start:end]))
	b.WriteString("\x1b[K")
	if back := end - l.pos; back > 0 {
		fmt.Fprintf(&b, "\x1b[%dD", back)
	}
	l.ed.out.Write(b.Bytes())
}
