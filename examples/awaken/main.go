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
	if *dir == "" {
		tmp, err := os.MkdirTemp("", "batos-awaken-*")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		*dir = tmp
	}
	opts, err := modelOptions(*model, getenv, out)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "image: %s\n\n", *dir)

	// First life: the message is not understood, so the system writes it.
	mind, err := psm.Open(ctx, *dir, opts)
	if err != nil {
		return err
	}
	unsubscribe := mind.Subscribe(func(e psm.Event) { show(out, e) })
	start := time.Now()
	answer, err := mind.Send(ctx, mind.Genesis(), "greet_the_architect", *name)
	unsubscribe()
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

func show(out io.Writer, e psm.Event) {
	switch e.Kind {
	case psm.EventState:
		line := fmt.Sprintf("[%s] %-12s", e.Time.Format("15:04:05.000"), e.State)
		if e.Text != "" {
			line += " " + e.Text
		}
		if e.Error != "" {
			line += " — " + e.Error
		}
		fmt.Fprintln(out, line)
	case psm.EventPrompt:
		fmt.Fprintf(out, "               asks %s (%d-byte prompt)\n", e.Persona, len(e.Text))
	case psm.EventVerdict:
		if e.Error != "" {
			lines := strings.Split(strings.TrimSpace(e.Error), "\n")
			fmt.Fprintf(out, "               rejected: %s\n", lines[0])
			for _, l := range lines[1:min(len(lines), 4)] {
				fmt.Fprintf(out, "                 %s\n", strings.TrimSpace(l))
			}
		} else {
			fmt.Fprintf(out, "               %s\n", e.Text)
		}
	case psm.EventOutcome:
		if e.Text != "" {
			fmt.Fprintf(out, "               %s\n", e.Text)
		}
	}
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
		fmt.Fprintf(out, "\ninstalled on genesis: %s v%d, written by %s in cycle %s\n", m.Selector, m.Version, m.Persona, m.CycleID)
		fmt.Fprintln(out, "────")
		fmt.Fprint(out, strings.TrimRight(m.Source, "\n")+"\n")
		fmt.Fprintln(out, "────")
		return nil
	})
}
