package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/batos-dev/batos/psm"
)

// progress shows a send's cycles on stderr as they pass: one line per
// state, prompt, verdict and outcome, and — on a terminal — a spinner
// with the time spent waiting for the model.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	tty     bool
	quiet   bool
	model   string    // shown once, when the first cycle starts
	cycles  []string  // cycles seen, in order
	waiting string    // what the cycle waits for now ("" when not waiting)
	since   time.Time // when the wait began
	asked   time.Time // when the pending prompt was sent (the event clock)
	drawn   bool      // the spinner line is on screen
	frame   int
	stop    chan struct{}
	stopped sync.WaitGroup
}

var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// newProgress starts a progress display on w; on a terminal it redraws a
// spinner every tick until close.
func newProgress(w io.Writer, tty, quiet bool, model string, tick time.Duration) *progress {
	p := &progress{w: w, tty: tty, quiet: quiet, model: model, stop: make(chan struct{})}
	if tty && !quiet {
		p.stopped.Add(1)
		go func() {
			defer p.stopped.Done()
			t := time.NewTicker(tick)
			defer t.Stop()
			for {
				select {
				case <-p.stop:
					return
				case <-t.C:
					p.mu.Lock()
					p.draw()
					p.mu.Unlock()
				}
			}
		}()
	}
	return p
}

// draw redraws the spinner line while the cycle waits.
func (p *progress) draw() {
	if p.waiting == "" {
		return
	}
	p.frame++
	fmt.Fprintf(p.w, "\r\033[K%s %s %.1fs", spinnerFrames[p.frame%len(spinnerFrames)], p.waiting, time.Since(p.since).Seconds())
	p.drawn = true
}

// line prints one line, erasing the spinner first.
func (p *progress) line(format string, a ...any) {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
	fmt.Fprintf(p.w, format+"\n", a...)
}

// event shows one cycle event. It is safe to call from any goroutine.
func (p *progress) event(e psm.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	known := false
	for _, c := range p.cycles {
		known = known || c == e.Cycle
	}
	if !known {
		p.cycles = append(p.cycles, e.Cycle)
		if !p.quiet && len(p.cycles) == 1 && p.model != "" {
			p.line("model: %s", p.model)
		}
	}
	if p.quiet {
		return
	}
	stamp := e.Time.Local().Format("15:04:05.000")
	switch e.Kind {
	case psm.EventState:
		p.waiting = ""
		text := e.Text
		if e.State == psm.Idle {
			text = fmt.Sprintf("cycle %s, %s", e.Cycle, text)
		}
		p.line("%s", strings.TrimRight(fmt.Sprintf("[%s] %-12s %s", stamp, e.State, text), " "))
	case psm.EventPrompt:
		p.waiting, p.since, p.asked = fmt.Sprintf("%s: waiting for %s", e.State, e.Persona), time.Now(), e.Time
		p.line("%15s asks %s (%d-byte prompt)", "", e.Persona, len(e.Text))
		if p.tty {
			p.draw()
		}
	case psm.EventReply:
		waited := e.Time.Sub(p.asked).Round(time.Millisecond)
		p.waiting = ""
		if e.Error != "" {
			p.line("%15s %s failed after %s: %s", "", e.Persona, waited, firstLine(e.Error))
		} else {
			p.line("%15s %s answered (%d bytes, %s)", "", e.Persona, len(e.Text), waited)
		}
	case psm.EventVerdict:
		if e.Error != "" {
			p.line("%15s rejected: %s", "", firstLine(e.Error))
		} else {
			p.line("%15s %s", "", e.Text)
		}
	case psm.EventNote:
		p.line("%15s %s", "", firstLine(e.Text))
	case psm.EventOutcome:
		p.waiting = ""
		if e.Error != "" {
			p.line("%15s %s: %s", "", e.State, firstLine(e.Error))
		} else if e.Text != "" {
			p.line("%15s %s", "", e.Text)
		}
	}
}

// seen returns the cycles shown so far.
func (p *progress) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string{}, p.cycles...)
}

// close stops the spinner and erases it.
func (p *progress) close() {
	close(p.stop)
	p.stopped.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}

// firstLine is s's first line, at most 200 bytes of it.
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	cut := false
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s, cut = s[:i], true
	}
	if len(s) > 200 {
		s, cut = truncRunes(s, 200), true
	}
	if cut {
		s += " …"
	}
	return s
}
