package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/batos-dev/batos/examples/batos/internal/imageview"
	"github.com/batos-dev/batos/examples/batos/internal/kernel"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/spf13/cobra"
)

// sendResult is what `batos send --json` prints.
type sendResult struct {
	kernel.SendAnswer
	// Cycles are the cycles the send started, in order (none when the
	// method was already there).
	Cycles []string `json:"cycles"`
}

func (a *app) sendCmd() *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "send OBJECT SELECTOR [ARGS...]",
		Short: "Send an object a message; a selector nothing answers starts a cycle that writes the method",
		Long: `Send OBJECT (an OID or a root name) the message SELECTOR with ARGS. Each
argument is read as a JSON value when it parses as one (42, true, null,
"quoted", [1,2], {"$ref": 3} for object 3), else as a string. Put -- before
arguments that start with a dash.

A selector nothing in the object's delegation chain answers starts a
cognitive cycle: its states and a waiting indicator show on stderr as they
pass, and the answer of the new method is printed. If the cycle fails, the
image is unchanged, the message names the state and the reason, and the
exit status is 1. Ctrl-C cancels the cycle cleanly (it fails; nothing is
written).

Under the generation policy approve (batos policy), the cycle stops after
VALIDATING and its method waits for a person: send prints the cycle id
and the commands that decide it (batos pending, approve, reject, edit),
and the exit status is 3. Nothing is installed until it is approved.`,
		Example: `  batos send genesis greet_the_architect Ada
  batos send 3 add 2 40 --json
  batos send --kernel http://127.0.0.1:8377 genesis greet_the_architect Ada`,
		Args: cobra.MinimumNArgs(2),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			ctx, stop := a.signalContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if err := uvm.CheckName(args[1]); err != nil {
				return usagef("selector %q: %w", args[1], err)
			}
			msgArgs := make([]any, 0, len(args)-2)
			for _, s := range args[2:] {
				msgArgs = append(msgArgs, parseArg(s))
			}
			var res sendResult
			var err error
			if a.kernel != "" {
				res, err = a.sendRemote(ctx, args[0], args[1], msgArgs, quiet)
			} else {
				res, err = a.sendLocal(ctx, args[0], args[1], msgArgs, quiet)
			}
			var ae *psm.ApprovalError
			if errors.As(err, &ae) {
				return &exitError{code: exitPending, err: described(awaitingError{ae})}
			}
			if err != nil {
				var ce *psm.CycleError
				if errors.As(err, &ce) {
					err = fmt.Errorf("%w; the image is unchanged", err)
				}
				if ctx.Err() != nil {
					err = fmt.Errorf("interrupted: %w", err)
				}
				return err
			}
			if a.json {
				return a.printJSON(res)
			}
			_, err = fmt.Fprintln(a.stdout, plainText(res.Answer))
			return err
		}),
	}
	a.clientFlags(cmd)
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "do not show the cycle's progress on stderr")
	return cmd
}

// signalContext is signal.NotifyContext through the app's notifier.
func (a *app) signalContext(parent context.Context, sig ...os.Signal) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 1)
	a.notify(ch, sig...)
	go func() {
		select {
		case <-ch:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		a.stopNotify(ch)
		cancel()
	}
}

// sendLocal opens the image, sends, and closes it.
func (a *app) sendLocal(ctx context.Context, ref, selector string, args []any, quiet bool) (sendResult, error) {
	opts, model, err := a.mindOptions(nil)
	if err != nil {
		return sendResult{}, err
	}
	mind, err := psm.Open(ctx, a.image, opts)
	if errors.Is(err, uvm.ErrLocked) {
		return sendResult{}, lockedError{a.image, err}
	}
	if err != nil {
		return sendResult{}, err
	}
	defer mind.Close()
	var oid uvm.OID
	err = mind.Image().View(ctx, func(tx *uvm.Tx) error {
		o, err := imageview.Resolve(tx, ref)
		if err == nil {
			oid = o.OID()
		}
		return err
	})
	if err != nil {
		return sendResult{}, err
	}
	p := newProgress(a.stderr, isTerminal(a.stderr), quiet, model, 120*time.Millisecond)
	unsubscribe := mind.Subscribe(p.event)
	start := time.Now()
	answer, err := mind.Send(ctx, oid, selector, args...)
	unsubscribe()
	p.close()
	if err != nil {
		return sendResult{}, err
	}
	return sendResult{
		SendAnswer: kernel.SendAnswer{Object: oid, Selector: selector, Answer: imageview.Plain(answer, -1), Millis: float64(time.Since(start).Microseconds()) / 1000},
		Cycles:     p.seen(),
	}, nil
}

// sendRemote asks the kernel, following the cycles the send starts on
// the kernel's event stream.
func (a *app) sendRemote(ctx context.Context, ref, selector string, args []any, quiet bool) (sendResult, error) {
	c, err := a.client()
	if err != nil {
		return sendResult{}, err
	}
	var obj imageview.Object
	if err := c.do(ctx, "GET", "/api/objects/"+url.PathEscape(ref), nil, &obj); err != nil {
		return sendResult{}, err
	}
	req := struct {
		Object   uvm.OID           `json:"object"`
		Selector string            `json:"selector"`
		Args     []json.RawMessage `json:"args"`
	}{Object: obj.OID, Selector: selector, Args: []json.RawMessage{}}
	for i, v := range args {
		b, err := json.Marshal(imageview.Plain(v, -1))
		if err != nil {
			return sendResult{}, usagef("argument %d: %w", i, err)
		}
		req.Args = append(req.Args, b)
	}

	p := newProgress(a.stderr, isTerminal(a.stderr), quiet, "", 120*time.Millisecond)
	defer p.close()
	streamCtx, stopStream := context.WithCancel(ctx)
	defer stopStream()
	ready := make(chan struct{})
	ours := map[string]bool{}
	mission := fmt.Sprintf("mission: %q for object %d", selector, obj.OID)
	go c.follow(streamCtx, "", ready, func(e psm.Event) {
		// A cycle is ours when its mission is this send's, or when it is
		// nested in one of ours (psm's IDLE text says which).
		if e.Kind == psm.EventState && e.State == psm.Idle {
			ours[e.Cycle] = e.Text == mission
			for parent := range ours {
				if ours[parent] && strings.HasSuffix(e.Text, fmt.Sprintf("(nested in cycle %s)", parent)) {
					ours[e.Cycle] = true
				}
			}
		}
		if ours[e.Cycle] {
			p.event(e)
		}
	})
	waitReady(ready)
	var res sendResult
	err = c.do(ctx, "POST", "/api/send", req, &res.SendAnswer)
	stopStream()
	res.Cycles = p.seen()
	// A method awaiting approval is the same error as a local send's, so
	// that the command exits 3 either way.
	var re *remoteError
	if errors.As(err, &re) && re.body.Kind == kernel.KindAwaitingApproval {
		return res, &psm.ApprovalError{CycleID: re.body.Cycle, Receiver: cmp.Or(re.body.Object, obj.OID), Selector: cmp.Or(re.body.Selector, selector)}
	}
	return res, err
}
