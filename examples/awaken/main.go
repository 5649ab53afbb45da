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
	"strings"
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
	p := newPrinter(out, mind.Genesis())
	unsubscribe := mind.Subscribe(p.show)
	start := time.Now()
	answer, err := mind.Send(ctx, mind.Genesis(), "greet_the_architect", *name)
	unsubscribe()
	p.flush()
	if err != nil {
		mind.Close()
		return err
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
	cycles := 0
	unsubscribe = mind.Subscribe(func(psm.Event) { cycles++ })
	defer unsubscribe()
	start = time.Now()
	answer, err = mind.Send(ctx, mind.Genesis(), "greet_the_architect", *name)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "answer (after %s, %d cycle events): %v\n", time.Since(start).Round(time.Microsecond), cycles, answer)
	if cycles != 0 {
		return errors.New("the reopened image ran a cycle: the method did not survive the restart")
	}
	return nil
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
