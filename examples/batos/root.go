package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/batos-dev/batos/examples/batos/internal/imageview"
	"github.com/batos-dev/batos/examples/batos/internal/kernel"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/store/pgstore"
	"github.com/spf13/cobra"
)

// Exit statuses.
const (
	exitOK     = 0 // success
	exitFailed = 1 // the operation failed
	exitUsage  = 2 // the command line is wrong
	// exitPending (3, pending.go): a send's method awaits approval.
)

// Environment variables the command reads.
const (
	envImage  = "BATOS_IMAGE"
	envModel  = "BATOS_MODEL"
	envKernel = "BATOS_KERNEL"
	envToken  = "BATOS_TOKEN"
)

// defaultImage is the image directory when neither --image nor
// $BATOS_IMAGE names one.
const defaultImage = "batos.image"

// app is one run of the command: its streams, environment and flags.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	notify         func(chan<- os.Signal, ...os.Signal)
	stopNotify     func(chan<- os.Signal)

	// Common flags.
	image  string
	model  string
	policy string
	json   bool
	kernel string
	token  string
}

func newApp(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string,
	notify func(chan<- os.Signal, ...os.Signal), stopNotify func(chan<- os.Signal)) *app {
	return &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv, notify: notify, stopNotify: stopNotify}
}

// usageError marks an error as the command line's fault (exit status 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return &usageError{fmt.Errorf(format, a...)} }

// runError marks an error returned by a command's own code, as opposed to
// cobra's (unknown command, bad flag, wrong number of arguments), which
// are usage errors.
type runError struct{ err error }

func (e *runError) Error() string { return e.err.Error() }
func (e *runError) Unwrap() error { return e.err }

// run adapts a command body: its errors are the operation's, unless marked
// as usage errors.
func run(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := fn(cmd, args); err != nil {
			return &runError{err}
		}
		return nil
	}
}

// exitError carries an exit status decided by the command itself (the
// watchdog passes its kernel's usage status on).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func (a *app) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "batos",
		Short: "Run a batos image: send messages, inspect objects, serve and watch the kernel",
		Long: `batos runs a batos image as a system. Persistent prototype objects write the
methods they lack: send an object a message nothing understands and a cycle
asks a language model for the method, audits, compiles, installs it and
answers.

Objects are named by OID or root name (genesis, traits, …). Exit status:
0 success, 1 the operation failed (send: the cycle failed and the image is
unchanged), 2 usage, 3 a method awaits approval (send under the generation
policy approve: batos pending, approve, reject and edit decide it).`,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return a.fillDefaults(cmd)
		},
	}
	root.CompletionOptions.DisableDefaultCmd = true
	pf := root.PersistentFlags()
	pf.StringVar(&a.image, "image", "", "image directory or postgres:// URL (default $"+envImage+", else ./"+defaultImage+")")
	pf.StringVar(&a.model, "model", "", "model spec for every persona, e.g. ollama:qwen2.5-coder:7b or scripted:FILE (default $"+envModel+", else the offline script in this binary)")
	pf.StringVar(&a.policy, "policy", "", "execution policy of generated methods, recorded when the image is awakened: isolated or inprocess (default isolated)")
	pf.BoolVar(&a.json, "json", false, "machine-readable output (JSON)")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return &usageError{err} })
	root.AddCommand(a.sendCmd(), a.inspectCmd(), a.logCmd(), a.serveCmd(), a.watchCmd())
	root.AddCommand(a.historyCmd(), a.diffCmd(), a.revertCmd(), a.exportCmd(), a.importCmd())
	root.AddCommand(a.pendingCmd(), a.approveCmd(), a.rejectCmd(), a.editCmd(), a.policyCmd())
	root.AddCommand(a.salvageCmd())
	root.AddCommand(a.consoleCmd())
	return root
}

// clientFlags adds --kernel and --token to a command that can ask a
// running kernel instead of opening the image.
func (a *app) clientFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&a.kernel, "kernel", "", "URL of a running kernel to ask instead of opening the image (default $"+envKernel+")")
	cmd.Flags().StringVar(&a.token, "token", "", "bearer token for the kernel (default $"+envToken+")")
}

func (a *app) fillDefaults(cmd *cobra.Command) error {
	if a.image == "" {
		a.image = a.getenv(envImage)
	}
	if a.image == "" {
		a.image = defaultImage
	}
	if a.kernel == "" && cmd.Flags().Lookup("kernel") != nil {
		a.kernel = a.getenv(envKernel)
	}
	if a.token == "" {
		a.token = a.getenv(envToken)
	}
	switch a.policy {
	case "", "isolated", "inprocess":
	default:
		return usagef("--policy %q: want isolated or inprocess", a.policy)
	}
	return nil
}

// execute runs the command line and returns the exit status.
func execute(ctx context.Context, a *app, args []string) int {
	root := a.root()
	root.SetArgs(args)
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	cmd, err := root.ExecuteC()
	if err == nil {
		return exitOK
	}
	code := exitUsage
	var ee *exitError
	var re *runError
	var ue *usageError
	switch {
	case errors.As(err, &ee):
		code = ee.code
	case errors.As(err, &ue):
		code = exitUsage
	case errors.As(err, &re):
		code = exitFailed
		if errorBody(err).Kind == kernel.KindBadRequest {
			code = exitUsage // a malformed object reference or argument
		}
	}
	a.report(cmd, err, code)
	return code
}

// report prints a failure: a line on stderr, and with --json the error
// body on stdout.
func (a *app) report(cmd *cobra.Command, err error, code int) {
	msg := err.Error()
	var le lockedError
	if errors.As(err, &le) {
		msg = le.Error()
	}
	fmt.Fprintf(a.stderr, "batos: %s\n", msg)
	if code == exitUsage && cmd != nil {
		fmt.Fprintf(a.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	if a.json {
		body := errorBody(err)
		if code == exitUsage {
			body.Kind = kernel.KindBadRequest
		}
		body.Error = msg
		a.printJSON(body)
	}
}

// errorBody describes an error as the kernel would: the kernel's own
// answer for an error it sent, else its classification.
func errorBody(err error) kernel.ErrorBody {
	var re *remoteError
	if errors.As(err, &re) {
		return re.body
	}
	_, body := kernel.Classify(err)
	return body
}

func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// lockedError explains an image another process holds.
type lockedError struct {
	dir string
	err error
}

func (e lockedError) Error() string {
	return fmt.Sprintf("image %s is open in another process (a running kernel?): stop it, or ask it with --kernel URL (or $%s)", e.dir, envKernel)
}
func (e lockedError) Unwrap() error { return e.err }

// openImage opens an existing image for reading (inspect, log); a missing
// image is an error, not a new one.
func (a *app) openImage() (*uvm.Image, error) {
	if _, err := os.Stat(a.image); err != nil && !pgstore.IsLocation(a.image) {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no image at %s (give --image DIR; a send or serve creates one): %w", a.image, fs.ErrNotExist)
		}
		return nil, err
	}
	im, err := uvm.Open(a.image, uvm.Options{})
	if errors.Is(err, uvm.ErrLocked) {
		return nil, lockedError{a.image, err}
	}
	return im, err
}

// parseArg reads a command-line argument as a JSON value when it parses
// as one (42, true, null, "x", [1,2], {"$ref": 3}), else as a string.
func parseArg(s string) any {
	if v, err := imageview.Decode([]byte(s)); err == nil {
		return v
	}
	return s
}

// objectName renders an OID with its root name, as "3 (genesis)".
func objectName(l imageview.Link) string {
	if l.Name != "" {
		return fmt.Sprintf("%d (%s)", l.OID, l.Name)
	}
	return fmt.Sprint(l.OID)
}

// plainText renders an answer for people: a string as it is, anything
// else as compact JSON.
func plainText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSpace(string(b))
}
