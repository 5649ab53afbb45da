package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/batos-dev/batos/examples/batos/internal/imageview"
	"github.com/batos-dev/batos/psm"
	"github.com/spf13/cobra"
)

// exitPending is send's exit status when the cycle wrote and validated a
// method that now waits for a person's decision (generation policy
// approve): there is no answer yet, and nothing failed.
const exitPending = 3

// awaitingError is a send whose method awaits approval, in words that
// name the commands that decide it.
type awaitingError struct{ *psm.ApprovalError }

func (e awaitingError) Error() string {
	return fmt.Sprintf("cycle %s wrote %q for object %d; it awaits approval: batos pending %s shows it, batos approve %s installs it, batos reject %s --reason TEXT discards it",
		e.CycleID, e.Selector, e.Receiver, e.CycleID, e.CycleID, e.CycleID)
}
func (e awaitingError) Unwrap() error { return e.ApprovalError }

// approvalView is a method awaiting approval as `batos pending --json`
// prints it.
type approvalView struct {
	psm.Approval
	// Args replaces the approval's, in the JSON form every other
	// command uses ({"$ref": N} for an object).
	Args any `json:"args,omitempty"`
}

func viewApproval(ap psm.Approval) approvalView {
	v := approvalView{Approval: ap}
	if len(ap.Args) > 0 {
		v.Args = imageview.Plain([]any(ap.Args), -1)
	}
	return v
}

// rejectView is what `batos reject --json` prints.
type rejectView struct {
	Cycle    string `json:"cycle"`
	Verdict  string `json:"verdict"`
	Reason   string `json:"reason"`
	Selector string `json:"selector"`
}

func (a *app) pendingCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "pending [CYCLE-ID]",
		Short: "List the methods awaiting approval, or show one in full",
		Long: `Under the generation policy approve (batos policy), a cycle stops after
VALIDATING: its method waits for a person's decision, and the send exits
with status 3. Without arguments, pending lists those methods, oldest
request first: the cycle, the object and selector, the persona and model
that wrote it, and what its dry run answered. With CYCLE-ID: everything
an approver needs — the message's arguments, the dry run's answer and
what it changed, the methods of nested cycles that install with it, and
the source.

Decide with batos approve, batos reject or batos edit.`,
		Example: `  batos pending
  batos pending c18f0b6a2c3d4e5f-1
  batos pending --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			mind, err := a.openMind(ctx, cmd)
			if err != nil {
				return err
			}
			defer mind.Close()
			pending, err := mind.Pending(ctx)
			if err != nil {
				return err
			}
			if len(args) == 1 {
				ap, err := findPending(ctx, mind, pending, args[0])
				if err != nil {
					return err
				}
				if a.json {
					return a.printJSON(viewApproval(ap))
				}
				printApproval(a.stdout, ap)
				return nil
			}
			if a.json {
				views := make([]approvalView, len(pending))
				for i, ap := range pending {
					views[i] = viewApproval(ap)
				}
				return a.printJSON(views)
			}
			printPending(a.stdout, pending)
			return nil
		}),
	}
}

// findPending finds the approval of one cycle; a cycle that does not
// await one is an error that says what became of it.
func findPending(ctx context.Context, mind *psm.Mind, pending []psm.Approval, id string) (psm.Approval, error) {
	for _, ap := range pending {
		if ap.CycleID == id {
			return ap, nil
		}
	}
	rec, err := mind.Cycle(ctx, id)
	if err != nil {
		return psm.Approval{}, err
	}
	state := string(rec.Outcome)
	if rec.Decision != nil {
		state = rec.Decision.Verdict + " by " + rec.Decision.By
	}
	return psm.Approval{}, described(fmt.Errorf("%w: cycle %s (%s)", psm.ErrNotPending, id, cmp.Or(state, "running")))
}

func printPending(w io.Writer, pending []psm.Approval) {
	if len(pending) == 0 {
		fmt.Fprintln(w, "no methods await approval")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CYCLE\tREQUESTED\tOBJECT\tSELECTOR\tPERSONA\tMODEL\tDRY RUN ANSWERED")
	for _, ap := range pending {
		sel := ap.Selector
		if len(ap.Nested) > 0 {
			sel += fmt.Sprintf(" (+%d nested)", len(ap.Nested))
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", ap.CycleID, ap.Requested.Local().Format("2006-01-02 15:04:05"),
			ap.Object, sel, orDash(ap.Persona), orDash(ap.Model), firstLine(ap.Answer))
	}
	tw.Flush()
	fmt.Fprintln(w, "\nbatos pending CYCLE-ID shows one in full; decide with batos approve, reject or edit.")
}

func printApproval(w io.Writer, ap psm.Approval) {
	fmt.Fprintf(w, "cycle %s: %q for object %d awaits approval (requested %s)\n", ap.CycleID, ap.Selector, ap.Object,
		ap.Requested.Local().Format("2006-01-02 15:04:05"))
	fmt.Fprintf(w, "written by %s", orDash(ap.Persona))
	if ap.Model != "" {
		fmt.Fprintf(w, " (model %s)", ap.Model)
	}
	fmt.Fprintln(w)
	if ap.Intent != "" {
		fmt.Fprintf(w, "intent: %s\n", ap.Intent)
	}
	if len(ap.Args) > 0 {
		fmt.Fprintf(w, "arguments: %s\n", plainText(imageview.Plain([]any(ap.Args), -1)))
	}
	fmt.Fprintf(w, "dry run answered: %s\n", ap.Answer)
	if len(ap.Changed) > 0 {
		fmt.Fprintf(w, "dry run changed: %s\n", strings.Join(ap.Changed, "; "))
	} else {
		fmt.Fprintln(w, "dry run changed: nothing")
	}
	for _, n := range ap.Nested {
		fmt.Fprintf(w, "\n──── nested: %s for object %d (cycle %s), installs with it\n%s\n", n.Selector, n.Object, n.CycleID, strings.TrimRight(n.Source, "\n"))
	}
	fmt.Fprintf(w, "\n──── %s\n%s\n────\n", ap.Selector, strings.TrimRight(ap.Source, "\n"))
	fmt.Fprintf(w, "batos approve %s | batos reject %s --reason TEXT | batos edit %s FILE\n", ap.CycleID, ap.CycleID, ap.CycleID)
}

func (a *app) approveCmd() *cobra.Command {
	var act actor
	cmd := &cobra.Command{
		Use:   "approve CYCLE-ID",
		Short: "Install the method a cycle awaiting approval wrote",
		Long: `Install the method cycle CYCLE-ID wrote and validated, as it was validated
(with the methods of its nested cycles), in one transaction. Its source is
audited and compiled again, not dry-run again. The cycle's record and the
version's history keep who approved it (--by) and why (--why).

A cycle that does not await approval (any more) is an error (exit status
1).`,
		Example: `  batos approve c18f0b6a2c3d4e5f-1 --by ada --why "reviewed"`,
		Args:    cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			mind, err := a.openMind(ctx, cmd)
			if err != nil {
				return err
			}
			defer mind.Close()
			v, err := mind.Approve(ctx, args[0], a.options(act)...)
			if err != nil {
				return described(err)
			}
			return a.printInstalled(v)
		}),
	}
	a.actorFlags(cmd, &act, "why, kept in the cycle's record and the history")
	return cmd
}

func (a *app) rejectCmd() *cobra.Command {
	var act actor
	var reason string
	cmd := &cobra.Command{
		Use:   "reject CYCLE-ID --reason TEXT",
		Short: "Discard the method a cycle awaiting approval wrote",
		Long: `Discard the method cycle CYCLE-ID wrote, and the methods of its nested
cycles: nothing is installed, the cycle ends FAILED in AWAITING_APPROVAL,
and its record keeps who rejected it (--by) and why (--reason, required).
A later send of the same message starts a new cycle.`,
		Example: `  batos reject c18f0b6a2c3d4e5f-1 --reason "greets in the wrong language"`,
		Args:    cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(reason) == "" {
				return usagef("--reason TEXT is required: say why the method is rejected")
			}
			ctx := cmd.Context()
			mind, err := a.openMind(ctx, cmd)
			if err != nil {
				return err
			}
			defer mind.Close()
			if err := mind.Reject(ctx, args[0], reason, a.options(act)...); err != nil {
				return described(err)
			}
			rec, err := mind.Cycle(ctx, args[0])
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(rejectView{Cycle: rec.ID, Verdict: psm.VerdictRejected, Reason: reason, Selector: rec.Mission.Selector})
			}
			_, err = fmt.Fprintf(a.stdout, "rejected cycle %s: %q for object %d is not installed\n", rec.ID, rec.Mission.Selector, rec.Mission.Target)
			return err
		}),
	}
	a.actorFlags(cmd, &act, "")
	cmd.Flags().StringVar(&reason, "reason", "", "why the method is rejected, kept in the cycle's record (required)")
	return cmd
}

func (a *app) editCmd() *cobra.Command {
	var act actor
	cmd := &cobra.Command{
		Use:   "edit CYCLE-ID FILE",
		Short: "Install your edit of the method a cycle awaiting approval wrote, in its place",
		Long: `Install the Go source in FILE (- reads stdin) in place of the method cycle
CYCLE-ID wrote: it is validated again (the guardian's audit, a compile,
and a dry run with the message's arguments), then installed and recorded
as the decision, with who edited it (--by) and why (--why). Start from
the source batos pending CYCLE-ID shows.

An edit that fails validation changes nothing (exit status 1, the message
names the step): the cycle still awaits a decision.`,
		Example: `  batos pending c18f0b6a2c3d4e5f-1 --json | jq -r .source > greet.go
  $EDITOR greet.go
  batos edit c18f0b6a2c3d4e5f-1 greet.go --why "greets by name"`,
		Args: cobra.ExactArgs(2),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			var src []byte
			var err error
			if args[1] == "-" {
				src, err = io.ReadAll(a.stdin)
			} else {
				src, err = os.ReadFile(args[1])
			}
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			mind, err := a.openMind(ctx, cmd)
			if err != nil {
				return err
			}
			defer mind.Close()
			v, err := mind.Edit(ctx, args[0], string(src), a.options(act)...)
			if err != nil {
				return described(err)
			}
			return a.printInstalled(v)
		}),
	}
	a.actorFlags(cmd, &act, "why, kept in the cycle's record and the history")
	return cmd
}
