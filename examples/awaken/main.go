// Command awaken is batos's first contact. It opens an image, sends
// genesis a message nothing understands (greet_the_architect), shows every
// state of the cognitive cycle as it happens, prints the method the system
// wrote for itself, closes and reopens the image, and sends the message
// again — answered this time without a cycle.
//
// It runs offline by default: a scripted model whose replies ship inside
// this binary plays the personas. To use a real model instead:
//
//	go run ./examples/awaken -model ollama:qwen2.5-coder:7b
//	BATOS_MODEL=openai:MODEL@http://localhost:8000/v1 go run ./examples/awaken
//
// The image lives in a temporary directory that is deleted at the end
// (awaken says so); -image DIR keeps it there, to be met again by the
// next run with the same -image.
//
// While a model thinks, awaken says it is waiting, with the seconds
// elapsed. Ctrl-C ends the cycle cleanly: the cycle is recorded as FAILED
// and nothing it did stays in the image.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live"
)

//go:embed replies.jsonl
var replies []byte

func main() {
	live.ServeIfWorker() // isolated methods run in re-executed copies of this binary
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Getenv); err != nil {
		if errors.Is(err, errInterrupted) {
			os.Exit(130)
		}
		fmt.Fprintln(os.Stderr, "awaken:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("awaken", flag.ContinueOnError)
	fs.SetOutput(out)
	dir := fs.String("image", "", "image directory (default: a fresh temporary directory)")
	model := fs.String("model", "", "model spec for every persona, e.g. ollama:qwen2.5-coder:7b (default: $BATOS_MODEL, else the offline script)")
	name := fs.String("architect", "Architect", "who is greeted")
	every := fs.Duration("waiting", 5*time.Second, "how often to say that a model is still thinking (0: never)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	temporary := *dir == ""
	if temporary {
		tmp, err := os.MkdirTemp("", "batos-awaken-*")
		if err != nil {
			return err
		}
		defer func() {
			if err := os.RemoveAll(tmp); err != nil {
				fmt.Fprintf(out, "\ncould not delete the temporary image %s: %v\n", tmp, err)
				return
			}
			fmt.Fprintf(out, "\ndeleted the temporary image %s (run with -image DIR to keep one)\n", tmp)
		}()
		*dir = tmp
	} else {
		defer fmt.Fprintf(out, "\nthe image stays in %s: run again with -image %s to meet it again\n", *dir, *dir)
	}
	opts, err := modelOptions(*model, getenv, out)
	if err != nil {
		return err
	}
	if temporary {
		fmt.Fprintf(out, "image: %s (temporary: deleted at the end; -image DIR keeps one)\n\n", *dir)
	} else {
		fmt.Fprintf(out, "image: %s\n\n", *dir)
	}

	// First life: the message is not understood, so the system writes it.
	mind, err := psm.Open(ctx, *dir, opts)
	if err != nil {
		return err
	}
	d := &display{out: out, every: *every, p: newPrinter(out, mind.Genesis())}
	unsubscribe := mind.Subscribe(d.show)
	start := time.Now()
	answer, err := mind.Send(ctx, mind.Genesis(), "greet_the_architect", *name)
	unsubscribe()
	d.stopWaiting()
	d.p.flush()
	if err != nil {
		mind.Close()
		return interrupted(ctx, out, err)
	}
	fmt.Fprintf(out, "\nanswer (after %s): %v\n", time.Since(start).Round(time.Millisecond), answer)
	if err := showMethod(ctx, out, mind); err != nil {
		mind.Close()
		return err
	}
	if err := mind.Close(); err != nil {
		return err
	}

	// Second life: the method is in the image; no cycle runs.
	fmt.Fprintln(out, "\n— closed and reopened the image —")
	mind, err = psm.Open(ctx, *dir, opts)
	if err != nil {
		return err
	}
	defer mind.Close()
	if err := showMethod(ctx, io.Discard, mind); err != nil {
		return fmt.Errorf("the method did not survive the restart: %w", err)
	}
	var (
		mu     sync.Mutex
		events int
		wrote  []string // selectors the cycles of the second life wrote
	)
	unsubscribe = mind.Subscribe(func(e psm.Event) {
		mu.Lock()
		defer mu.Unlock()
		events++
		if e.Kind == psm.EventState && e.State == psm.Idle {
			if sel, ok := missionSelector(e.Text); ok && !slices.Contains(wrote, sel) {
				wrote = append(wrote, sel)
			}
		}
	})
	defer unsubscribe()
	start = time.Now()
	answer, err = mind.Send(ctx, mind.Genesis(), "greet_the_architect", *name)
	if err != nil {
		return interrupted(ctx, out, err)
	}
	mu.Lock()
	defer mu.Unlock()
	fmt.Fprintf(out, "answer (after %s, %d cycle events): %v\n", time.Since(start).Round(time.Microsecond), events, answer)
	if slices.Contains(wrote, "greet_the_architect") {
		return errors.New("the reopened image ran a cycle for greet_the_architect: the method did not survive the restart")
	}
	if len(wrote) > 0 {
		fmt.Fprintf(out, "the method survived the restart; it sent %s, which nothing understood yet, so the system wrote %s too\n",
			strings.Join(wrote, ", "), map[bool]string{true: "that", false: "those"}[len(wrote) == 1])
	}
	return nil
}

// errInterrupted is run's error when its context ended (Ctrl-C).
var errInterrupted = errors.New("interrupted")

// interrupted turns the error of a send whose context ended into
// errInterrupted, saying what became of the cycle; other errors pass.
func interrupted(ctx context.Context, out io.Writer, err error) error {
	if ctx.Err() == nil {
		return err
	}
	var ce *psm.CycleError
	if errors.As(err, &ce) {
		fmt.Fprintf(out, "\ninterrupted: cycle %s stopped in %s and is recorded as FAILED; nothing it did stays in the image\n", ce.CycleID, ce.State)
	} else {
		fmt.Fprintln(out, "\ninterrupted")
	}
	return fmt.Errorf("%w: %w", errInterrupted, err)
}

// missionSelector reads the selector from the text of a cycle's IDLE
// event (`mission: "sel" for object 3`).
func missionSelector(text string) (string, bool) {
	rest, ok := strings.CutPrefix(text, "mission: ")
	if !ok {
		return "", false
	}
	sel, err := strconv.QuotedPrefix(rest)
	if err != nil {
		return "", false
	}
	s, err := strconv.Unquote(sel)
	return s, err == nil
}

// modelOptions picks the model: -model, else BATOS_MODEL (and friends),
// else the offline script shipped in this binary.
func modelOptions(spec string, getenv func(string) string, out io.Writer) (psm.Options, error) {
	var opts psm.Options
	switch {
	case spec != "":
		opts.Personas = persona.Options{Default: spec}
		fmt.Fprintf(out, "model: %s\n", spec)
	case getenv("BATOS_MODEL") != "":
		po, err := persona.OptionsFromEnv(getenv)
		if err != nil {
			return opts, err
		}
		opts.Personas = po
		fmt.Fprintf(out, "model: %s (from BATOS_MODEL)\n", getenv("BATOS_MODEL"))
	default:
		script, err := persona.ParseScript("replies.jsonl", replies)
		if err != nil {
			return opts, err
		}
		opts.Model = script
		fmt.Fprintln(out, "model: offline — a scripted model whose replies ship inside this binary.")
		fmt.Fprintln(out, "       For a real one: -model ollama:qwen2.5-coder:7b  (or set BATOS_MODEL)")
	}
	return opts, nil
}

// display prints a cycle's events as they happen, and, while a model is
// thinking, a line every so often saying how long it has been.
type display struct {
	out   io.Writer
	every time.Duration
	p     *printer // writes the events themselves

	mu   sync.Mutex // serialises the output of show and of the waiting line
	stop chan struct{}
	done chan struct{}
}

// show prints one event (a psm.Mind subscriber).
func (d *display) show(e psm.Event) {
	d.stopWaiting()
	d.mu.Lock()
	d.p.show(e)
	d.mu.Unlock()
	if e.Kind == psm.EventPrompt && d.every > 0 {
		d.startWaiting(e.Persona)
	}
}

// startWaiting prints, every d.every until stopWaiting, that persona's
// model is still thinking.
func (d *display) startWaiting(persona string) {
	stop, done := make(chan struct{}), make(chan struct{})
	d.stop, d.done = stop, done
	start := time.Now()
	go func() {
		defer close(done)
		t := time.NewTicker(d.every)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				d.mu.Lock()
				fmt.Fprintf(d.out, "               waiting for %s's model… %.1fs\n", persona, time.Since(start).Seconds())
				d.mu.Unlock()
			}
		}
	}()
}

// stopWaiting ends the waiting line, if any, and waits for its goroutine.
func (d *display) stopWaiting() {
	if d.stop != nil {
		close(d.stop)
		<-d.done
		d.stop, d.done = nil, nil
	}
}

// printer shows a cycle's events as they happen, one line each. A state
// entered without a text of its own shares its line with what happens
// first in it (a prompt, a verdict, the outcome), so no line is empty.
type printer struct {
	out     io.Writer
	genesis *regexp.Regexp // "object N", N genesis's OID
	name    string         // "object N (genesis)"
	pending string         // a state line waiting for its first detail
}

func newPrinter(out io.Writer, genesis uvm.OID) *printer {
	return &printer{
		out:     out,
		genesis: regexp.MustCompile(fmt.Sprintf(`\bobject %d\b`, genesis)),
		name:    fmt.Sprintf("object %d (genesis)", genesis),
	}
}

func (p *printer) show(e psm.Event) {
	switch e.Kind {
	case psm.EventState:
		p.flush()
		line := fmt.Sprintf("[%s] %-12s", e.Time.Format("15:04:05.000"), e.State)
		if e.Text == "" && e.Error == "" {
			p.pending = line
			return
		}
		if e.Text != "" {
			line += " " + p.named(e.Text)
		}
		if e.Error != "" {
			line += " — " + p.named(e.Error)
		}
		fmt.Fprintln(p.out, line)
	case psm.EventPrompt:
		p.detail(fmt.Sprintf("asks %s (%d-byte prompt)", e.Persona, len(e.Text)))
	case psm.EventVerdict:
		if e.Error != "" {
			lines := strings.Split(strings.TrimSpace(e.Error), "\n")
			p.detail("rejected: " + lines[0])
			for _, l := range lines[1:min(len(lines), 4)] {
				fmt.Fprintf(p.out, "                 %s\n", strings.TrimSpace(l))
			}
		} else {
			p.detail(e.Text)
		}
	case psm.EventRetry:
		p.detail(fmt.Sprintf("%s's model failed (%s); %s", e.Persona, firstLine(e.Error), e.Text))
	case psm.EventOutcome:
		if e.Text != "" {
			p.detail(p.named(e.Text))
		}
	}
}

// detail prints what happened in the current state: on the state's own
// line if it is waiting for one, else indented under it.
func (p *printer) detail(text string) {
	if p.pending != "" {
		fmt.Fprintln(p.out, p.pending+" "+text)
		p.pending = ""
		return
	}
	fmt.Fprintf(p.out, "               %s\n", text)
}

// flush prints a state line still waiting for a detail.
func (p *printer) flush() {
	if p.pending != "" {
		fmt.Fprintln(p.out, strings.TrimRight(p.pending, " "))
		p.pending = ""
	}
}

// named names genesis where a text mentions its object by number.
func (p *printer) named(text string) string {
	return p.genesis.ReplaceAllLiteralString(text, p.name)
}

func showMethod(ctx context.Context, out io.Writer, mind *psm.Mind) error {
	return mind.Image().View(ctx, func(tx *uvm.Tx) error {
		g, err := tx.Object(mind.Genesis())
		if err != nil {
			return err
		}
		v, _ := g.Get("greet_the_architect")
		m, ok := v.(uvm.Method)
		if !ok {
			return errors.New("genesis has no greet_the_architect method")
		}
		fmt.Fprintf(out, "\ninstalled on genesis (object %d): %s v%d, written by %s in cycle %s\n", mind.Genesis(), m.Selector, m.Version, m.Persona, m.CycleID)
		fmt.Fprintln(out, "────")
		fmt.Fprint(out, strings.TrimRight(m.Source, "\n")+"\n")
		fmt.Fprintln(out, "────")
		return nil
	})
}

// firstLine returns the first line of s.
func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
