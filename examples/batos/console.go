package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/batos-dev/batos/examples/batos/internal/imageview"
	"github.com/batos-dev/batos/examples/batos/internal/kernel"
	"github.com/batos-dev/batos/examples/batos/internal/lineedit"
	"github.com/batos-dev/batos/examples/batos/internal/mission"
	"github.com/batos-dev/batos/persona"
	"github.com/spf13/cobra"
)

// Console prompts.
const (
	consolePrompt = "batos> "
	consoleMore   = "  ...> "
)

const consoleHelp = `Say what you want, in your words:
  give genesis a method that counts words in a text
A persona's model (on the kernel) turns it into a mission brief — an
object, a selector and arguments — which is sent; a selector nothing
answers starts a cycle, whose states show as they pass. When the model
cannot read a request, these forms are read by rules:
  send SELECTOR to OBJECT with A, B      send add to genesis with 2, 40
  ask OBJECT to SELECTOR A B             ask genesis to add 2 40
  OBJECT SELECTOR A B                    genesis add 2 40
Arguments are JSON values when they parse as one (42, true, "two words",
[1, 2], {"$ref": 3}), else text.

Commands:
  /send OBJECT SELECTOR [ARGS...]   send exactly this, no model
  /brief TEXT                       show the brief for TEXT, send nothing
  /roots                            list the roots
  /help                             this text
  /quit                             leave (Ctrl-D too)

Keys: up and down walk the history; a line ending in \ goes on to the
next; Ctrl-C clears the line, or cancels the running cycle (the image
stays as it was); Ctrl-D on an empty line leaves.`

// consoleOptions are the console's flags.
type consoleOptions struct {
	persona string // who reads requests
	rules   bool   // rules only, no model
}

func (a *app) consoleCmd() *cobra.Command {
	var opts consoleOptions
	cmd := &cobra.Command{
		Use:   "console",
		Short: "Talk to a running kernel in your words: each request becomes a mission brief and is sent",
		Long: `Talk to a running kernel (--kernel URL or $BATOS_KERNEL; start one with
batos serve). Each request, in your words, becomes a mission brief — an
object, a selector, arguments — read by a persona's model on the kernel,
or by rules for the common forms when the model cannot; the brief is
sent, the cycle's states show as they pass, and the answer is printed.

` + consoleHelp,
		Example: `  batos serve &
  batos console --kernel http://127.0.0.1:8377
  echo 'send add to genesis with 2, 40' | batos console --kernel http://127.0.0.1:8377 --rules`,
		Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			return a.console(cmd.Context(), opts)
		}),
	}
	a.clientFlags(cmd)
	cmd.Flags().StringVar(&opts.persona, "persona", persona.ALFRED, "the persona whose model reads requests")
	cmd.Flags().BoolVar(&opts.rules, "rules", false, "read requests by rules only, without a model")
	return cmd
}

// lineReader reads a request: lineedit on a terminal, plain lines
// otherwise.
type lineReader interface {
	ReadLine(prompt, more string) (string, error)
}

// pipeReader reads lines from a pipe or file; a line ending in a
// backslash goes on to the next.
type pipeReader struct{ r *bufio.Reader }

func (p pipeReader) ReadLine(_, _ string) (string, error) {
	var lines []string
	for {
		s, err := p.r.ReadString('\n')
		if s == "" && err != nil {
			if len(lines) > 0 {
				return strings.Join(lines, "\n"), nil
			}
			return "", err
		}
		s = strings.TrimRight(s, "\r\n")
		if rest, ok := strings.CutSuffix(s, `\`); ok {
			lines = append(lines, rest)
			continue
		}
		return strings.Join(append(lines, s), "\n"), nil
	}
}

// console is one session.
type console struct {
	a     *app
	c     *client
	opts  consoleOptions
	roots map[string]bool

	mu     sync.Mutex
	cancel context.CancelFunc // of the request running now; nil when idle
}

// console reads requests until the input ends (Ctrl-D) or /quit.
func (a *app) console(ctx context.Context, opts consoleOptions) error {
	if a.kernel == "" {
		return usagef("console talks to a running kernel: give --kernel URL or $%s (start one with batos serve)", envKernel)
	}
	switch opts.persona {
	case persona.ALFRED, persona.BRICK, persona.ROBIN, persona.BABS:
	default:
		return usagef("--persona %q: want ALFRED, BRICK, ROBIN or BABS", opts.persona)
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	con := &console{a: a, c: c, opts: opts}
	if err := con.loadRoots(ctx); err != nil {
		return err
	}

	// Ctrl-C cancels the running request, never the console. On a
	// terminal the line editor reads Ctrl-C itself while it reads a line.
	sigs := make(chan os.Signal, 1)
	a.notify(sigs, os.Interrupt)
	defer a.stopNotify(sigs)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-sigs:
				con.interrupt()
			case <-done:
				return
			}
		}
	}()

	var in lineReader = pipeReader{bufio.NewReader(a.stdin)}
	if f, ok := a.stdin.(*os.File); ok && lineedit.IsTerminal(f) {
		in = lineedit.New(f, a.stdout)
	}
	fmt.Fprintf(a.stdout, "batos console: kernel %s, %d roots. Ask in your words, or /help. Ctrl-D leaves.\n", c.base, len(con.roots))
	for {
		text, err := in.ReadLine(consolePrompt, consoleMore)
		switch {
		case errors.Is(err, lineedit.ErrInterrupted):
			continue
		case errors.Is(err, io.EOF):
			fmt.Fprintln(a.stdout, "bye")
			return nil
		case err != nil:
			return err
		}
		if con.handle(ctx, text) {
			return nil
		}
	}
}

func (con *console) loadRoots(ctx context.Context) error {
	var sum imageview.Summary
	if err := con.c.do(ctx, "GET", "/api/objects", nil, &sum); err != nil {
		return err
	}
	con.roots = map[string]bool{}
	for _, r := range sum.Roots {
		con.roots[r.Name] = true
	}
	return nil
}

func (con *console) isRoot(name string) bool { return con.roots[name] }

// interrupt cancels the running request, if there is one.
func (con *console) interrupt() {
	con.mu.Lock()
	defer con.mu.Unlock()
	if con.cancel != nil {
		con.cancel()
		fmt.Fprintln(con.a.stderr, " cancelling…")
	}
}

// running makes ctx the request that Ctrl-C cancels, until stop.
func (con *console) running(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	con.mu.Lock()
	con.cancel = cancel
	con.mu.Unlock()
	return ctx, func() {
		con.mu.Lock()
		con.cancel = nil
		con.mu.Unlock()
		cancel()
	}
}

// handle runs one request; it reports whether the console should end.
func (con *console) handle(ctx context.Context, text string) (quit bool) {
	out := con.a.stdout
	text = strings.TrimSpace(text)
	cmd, rest, _ := strings.Cut(text, " ")
	rest = strings.TrimSpace(rest)
	switch cmd {
	case "":
		return false
	case "/quit", "/exit":
		return true
	case "/help", "help", "?":
		fmt.Fprintln(out, consoleHelp)
		return false
	case "/roots":
		names := make([]string, 0, len(con.roots))
		for n := range con.roots {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintln(out, strings.Join(names, "  "))
		return false
	}

	ctx, stop := con.running(ctx)
	defer stop()
	var b mission.Brief
	var by string
	var err error
	switch cmd {
	case "/send":
		b, err = mission.FromRules(rest, func(string) bool { return true })
		by = "as written"
	case "/brief":
		b, by, err = con.brief(ctx, rest)
	default:
		b, by, err = con.brief(ctx, text)
	}
	if err != nil {
		con.failed(ctx, err)
		return false
	}
	fmt.Fprintf(out, "brief: %s  (%s)\n", b, by)
	if b.Intent != "" {
		fmt.Fprintf(out, "intent: %s\n", b.Intent)
	}
	if cmd == "/brief" {
		return false
	}
	args, err := b.Values()
	if err != nil {
		con.failed(ctx, err)
		return false
	}
	res, err := con.a.sendRemote(ctx, b.Object, b.Selector, args, false)
	if err != nil {
		con.failed(ctx, err)
		return false
	}
	fmt.Fprintf(out, "→ %s\n", plainText(res.Answer))
	return false
}

// brief reads a request: the kernel's model first (unless --rules), then
// the rules.
func (con *console) brief(ctx context.Context, text string) (mission.Brief, string, error) {
	if text == "" {
		return mission.Brief{}, "", errors.New("nothing to read")
	}
	var modelErr error
	if !con.opts.rules {
		fmt.Fprintf(con.a.stderr, "reading it with %s…\n", con.opts.persona)
		var ans kernel.BriefAnswer
		words := strings.Join(strings.Fields(text), " ") // continued lines read as one
		err := con.c.do(ctx, "POST", "/api/brief", kernel.BriefRequest{Text: words, Persona: con.opts.persona}, &ans)
		if err == nil {
			return ans.Brief, ans.Persona, nil
		}
		if ctx.Err() != nil {
			return mission.Brief{}, "", ctx.Err()
		}
		modelErr = err
	}
	b, err := mission.FromRules(text, con.isRoot)
	if err != nil {
		if modelErr != nil {
			return mission.Brief{}, "", fmt.Errorf("%s, and no rule reads it: try \"send SELECTOR to OBJECT with A, B\"", con.why(modelErr))
		}
		return mission.Brief{}, "", err
	}
	if modelErr != nil {
		return b, "rules; " + con.why(modelErr), nil
	}
	return b, "rules", nil
}

// why says in a few words why the kernel's persona could not read a
// request.
func (con *console) why(err error) string {
	switch body := errorBody(err); body.Kind {
	case kernel.KindModelFailed:
		return con.opts.persona + "'s model failed"
	case kernel.KindBriefUnreadable:
		return con.opts.persona + "'s reply held no brief"
	case kernel.KindNoRoute, kernel.KindMethodNotAllowed:
		return "this kernel reads no briefs"
	default:
		return con.opts.persona + " could not read it: " + firstLine(body.Error)
	}
}

// failed reports a request that did not answer.
func (con *console) failed(ctx context.Context, err error) {
	if ctx.Err() != nil {
		fmt.Fprintln(con.a.stdout, "cancelled: a running cycle fails, and the image stays as it was")
		return
	}
	msg := err.Error()
	if errorBody(err).Kind == kernel.KindCycleFailed {
		msg += "; the image is unchanged"
	}
	fmt.Fprintf(con.a.stdout, "✗ %s\n", msg)
}
