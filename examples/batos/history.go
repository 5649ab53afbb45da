package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/batos-dev/batos/examples/batos/internal/imageview"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/spf13/cobra"
)

// historyView is what `batos history --json` prints.
type historyView struct {
	Object   uvm.OID       `json:"object"`
	Selector string        `json:"selector"`
	Current  int           `json:"current"`
	Versions []versionView `json:"versions"`
}

func (a *app) historyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "history OBJECT SELECTOR",
		Short: "List every version of a method with who wrote it, which model, which cycle, and why",
		Long: `List every installed version of SELECTOR on OBJECT (an OID or a root name),
oldest first, with who wrote it (a persona, or the person who installed,
imported, reverted or edited it), the model that spoke for the persona,
the cycle that wrote it, who approved it, the version a revert restores,
and why it was written. The current version is marked with *. --json adds
each version's source and the arguments its dry run was validated with.

An object that never had a method of that name is an error (exit status
1). history opens the image itself: stop a kernel that holds it first.`,
		Example: `  batos history genesis greet_the_architect
  batos history 3 add --json`,
		Args: cobra.ExactArgs(2),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			if err := checkSelector(args[1]); err != nil {
				return err
			}
			ctx := cmd.Context()
			mind, oid, err := a.openObject(ctx, cmd, args[0])
			if err != nil {
				return err
			}
			defer mind.Close()
			versions, err := history(ctx, mind, oid, args[1])
			if err != nil {
				return err
			}
			hv := historyView{Object: oid, Selector: args[1], Versions: make([]versionView, len(versions))}
			for i, v := range versions {
				hv.Versions[i] = viewVersion(v)
				if v.Current {
					hv.Current = v.Version
				}
			}
			if a.json {
				return a.printJSON(hv)
			}
			printHistory(a.stdout, hv)
			return nil
		}),
	}
}

// history reads a method's versions; a method the object never had is
// an error that says so.
func history(ctx context.Context, mind *psm.Mind, oid uvm.OID, selector string) ([]psm.Version, error) {
	versions, err := mind.History(ctx, oid, selector)
	if err != nil {
		return nil, described(err)
	}
	if len(versions) == 0 {
		return nil, fmt.Errorf("object %d never had a method %q: %w", oid, selector, imageview.ErrNoMethod)
	}
	return versions, nil
}

func printHistory(w io.Writer, h historyView) {
	current := "none is current"
	if h.Current > 0 {
		current = fmt.Sprintf("v%d is current", h.Current)
	}
	fmt.Fprintf(w, "%s on object %d: %d version(s), %s\n\n", h.Selector, h.Object, len(h.Versions), current)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  VERSION\tCREATED\tAUTHOR\tMODEL\tCYCLE\tAPPROVED BY\tRESTORES\tWHY")
	for _, v := range h.Versions {
		mark := " "
		if v.Current {
			mark = "*"
		}
		restores := "-"
		if v.Restores > 0 {
			restores = fmt.Sprintf("v%d", v.Restores)
		}
		fmt.Fprintf(tw, "%s v%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", mark, v.Version, v.Created.Local().Format("2006-01-02 15:04:05"),
			orDash(v.Author), orDash(v.Model), orDash(v.CycleID), orDash(v.ApprovedBy), restores, orDash(firstLine(v.Why)))
	}
	tw.Flush()
}
