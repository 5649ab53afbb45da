package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/batos-dev/batos/examples/batos/internal/imageview"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/spf13/cobra"
)

func (a *app) logCmd() *cobra.Command {
	var limit int
	var full bool
	cmd := &cobra.Command{
		Use:   "log [CYCLE-ID]",
		Short: "List the cycles, newest first, or show one cycle's record",
		Long: `Without arguments: the latest cycles, newest first, with their mission,
outcome and attempts. With CYCLE-ID: the cycle's record — every state with
its time, every prompt and reply, every verdict, the outcome and the
source it installed (or last rejected).

A cycle without an outcome is still running, or was left open by a
process that died. One AWAITING_APPROVAL wrote a method that waits for a
person's decision (batos pending).`,
		Example: `  batos log
  batos log --limit 0 --json
  batos log c18f0b6a2c3d4e5f-1 --full`,
		Args: cobra.MaximumNArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			if limit < 0 {
				return usagef("--limit %d: want 0 (all) or more", limit)
			}
			ctx := cmd.Context()
			if len(args) == 1 {
				rec, err := a.cycleRecord(ctx, args[0])
				if err != nil {
					return err
				}
				if a.json {
					return a.printJSON(rec)
				}
				printRecord(a.stdout, rec, full)
				return nil
			}
			page, err := a.cyclePage(ctx, limit)
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(page)
			}
			printCycles(a.stdout, page)
			return nil
		}),
	}
	a.clientFlags(cmd)
	cmd.Flags().IntVarP(&limit, "limit", "n", 20, "how many cycles to list; 0 lists all")
	cmd.Flags().BoolVar(&full, "full", false, "show prompts and replies whole, not their first line")
	return cmd
}

func (a *app) cycleRecord(ctx context.Context, id string) (psm.Record, error) {
	var rec psm.Record
	if a.kernel != "" {
		c, err := a.client()
		if err != nil {
			return rec, err
		}
		return rec, c.do(ctx, "GET", "/api/cycles/"+url.PathEscape(id), nil, &rec)
	}
	im, err := a.openImage()
	if err != nil {
		return rec, err
	}
	defer im.Close()
	err = im.View(ctx, func(tx *uvm.Tx) error {
		var err error
		rec, err = imageview.CycleRecord(tx, id)
		return err
	})
	return rec, err
}

func (a *app) cyclePage(ctx context.Context, limit int) (imageview.CyclePage, error) {
	var page imageview.CyclePage
	if a.kernel != "" {
		c, err := a.client()
		if err != nil {
			return page, err
		}
		path := "/api/cycles"
		if limit > 0 {
			path += "?limit=" + strconv.Itoa(limit)
		} else {
			path += "?limit=" + strconv.Itoa(1<<30)
		}
		return page, c.do(ctx, "GET", path, nil, &page)
	}
	im, err := a.openImage()
	if err != nil {
		return page, err
	}
	defer im.Close()
	err = im.View(ctx, func(tx *uvm.Tx) error {
		var err error
		page, err = imageview.Cycles(tx, imageview.CycleQuery{Limit: limit})
		return err
	})
	return page, err
}

// outcomeText says how a cycle ended, or that it has not.
func outcomeText(c imageview.Cycle) string {
	switch c.Outcome {
	case psm.Complete:
		if c.Version > 0 {
			return fmt.Sprintf("COMPLETE v%d", c.Version)
		}
		return "COMPLETE"
	case psm.Failed:
		return "FAILED in " + string(c.FailedIn)
	case psm.AwaitingApproval:
		return "AWAITING_APPROVAL (batos pending)"
	}
	return fmt.Sprintf("open (%s)", c.State)
}

func printCycles(w io.Writer, page imageview.CyclePage) {
	if page.Total == 0 {
		fmt.Fprintln(w, "no cycles recorded")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CYCLE\tSTARTED\tSELECTOR\tTARGET\tOUTCOME\tATTEMPTS\tPERSONA\tTIME")
	for _, c := range page.Cycles {
		took := "-"
		if !c.Ended.IsZero() {
			took = c.Ended.Sub(c.Started).Round(time.Millisecond).String()
		}
		sel := c.Selector
		if c.Parent != "" {
			sel = "  ↳ " + sel
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%d\t%s\t%s\n", c.ID, c.Started.Local().Format("2006-01-02 15:04:05"), sel, c.Target, outcomeText(c), c.Attempts, orDash(c.Persona), took)
	}
	tw.Flush()
	if len(page.Cycles) < page.Total {
		fmt.Fprintf(w, "(%d of %d cycles; --limit 0 lists all)\n", len(page.Cycles), page.Total)
	}
}

func printRecord(w io.Writer, r psm.Record, full bool) {
	c := imageview.Summarise(r)
	fmt.Fprintf(w, "cycle %s: %q for object %d — %s\n", r.ID, r.Mission.Selector, r.Mission.Target, outcomeText(c))
	if r.Parent != "" {
		fmt.Fprintf(w, "nested in cycle %s (depth %d)\n", r.Parent, r.Depth)
	}
	if len(r.Mission.Args) > 0 {
		fmt.Fprintf(w, "arguments: %s\n", plainText(imageview.Plain(r.Mission.Args, -1)))
	}
	if r.Mission.Intent != "" {
		fmt.Fprintf(w, "intent: %s\n", r.Mission.Intent)
	}
	fmt.Fprintf(w, "started %s", r.Started.Local().Format("2006-01-02 15:04:05.000"))
	if !r.Ended.IsZero() {
		fmt.Fprintf(w, ", took %s", r.Ended.Sub(r.Started).Round(time.Millisecond))
	}
	fmt.Fprintf(w, ", %d attempt(s)", r.Attempts)
	if r.Persona != "" {
		fmt.Fprintf(w, ", written by %s", r.Persona)
	}
	fmt.Fprintln(w)
	if len(r.Queries) > 0 {
		fb := ""
		if r.Fallback {
			fb = " (fallback)"
		}
		fmt.Fprintf(w, "queries%s: %s\n", fb, strings.Join(r.Queries, " | "))
	}
	if r.Error != "" {
		fmt.Fprintf(w, "error: %s\n", r.Error)
	}
	fmt.Fprintln(w)
	for _, e := range r.Events {
		stamp := e.Time.Local().Format("15:04:05.000")
		switch e.Kind {
		case psm.EventState:
			line := fmt.Sprintf("[%s] %-12s %s", stamp, e.State, e.Text)
			if e.Error != "" {
				line += " — " + e.Error
			}
			fmt.Fprintln(w, strings.TrimRight(line, " "))
		case psm.EventPrompt, psm.EventReply:
			what := "prompt to"
			if e.Kind == psm.EventReply {
				what = "reply from"
			}
			body := e.Text
			if e.Error != "" {
				body = "error: " + e.Error
			}
			fmt.Fprintf(w, "%15s %s %s (%d bytes)%s\n", "", what, e.Persona, len(e.Text), excerpt(body, full))
		default:
			text := e.Text
			if e.Error != "" {
				text = "rejected: " + e.Error
			}
			fmt.Fprintf(w, "%15s %s%s\n", "", e.Kind+": ", excerpt(text, full))
		}
	}
	if r.Source != "" {
		label := "installed source"
		if r.Outcome != psm.Complete {
			label = "last source"
		}
		fmt.Fprintf(w, "\n──── %s\n%s\n────\n", label, strings.TrimRight(r.Source, "\n"))
	}
}

// excerpt is the text whole (indented) with full, else its first line.
func excerpt(s string, full bool) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if full {
		return "\n" + indent(s, strings.Repeat(" ", 18))
	}
	return ": " + firstLine(s)
}

func indent(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}
