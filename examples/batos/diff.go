package main

import (
	"fmt"
	"strings"

	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/spf13/cobra"
)

// diffView is what `batos diff --json` prints.
type diffView struct {
	Object   uvm.OID `json:"object"`
	Selector string  `json:"selector"`
	From     int     `json:"from"`
	To       int     `json:"to"`
	// Diff is the unified diff, "" when the two sources are equal.
	Diff string `json:"diff"`
}

func (a *app) diffCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "diff OBJECT SELECTOR [FROM [TO]]",
		Short: "Show two versions of a method as a unified diff (default: the previous version against the current one)",
		Long: `Show the change from version FROM to version TO of SELECTOR on OBJECT as a
unified diff (three lines of context). Versions are numbers, 2 or v2, as
batos history lists them. Without TO, TO is the current version; without
FROM either, FROM is the version before the current one.

Equal sources print a line that says so. The exit status is 0 whether the
versions differ or not; 1 when a version does not exist.`,
		Example: `  batos diff genesis add
  batos diff genesis add 1
  batos diff genesis add v1 v3 --json`,
		Args: cobra.RangeArgs(2, 4),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			if err := checkSelector(args[1]); err != nil {
				return err
			}
			var from, to int
			var err error
			if len(args) > 2 {
				if from, err = parseVersion(args[2]); err != nil {
					return err
				}
			}
			if len(args) > 3 {
				if to, err = parseVersion(args[3]); err != nil {
					return err
				}
			}
			ctx := cmd.Context()
			mind, oid, err := a.openObject(ctx, cmd, args[0])
			if err != nil {
				return err
			}
			defer mind.Close()
			if to == 0 {
				versions, err := history(ctx, mind, oid, args[1])
				if err != nil {
					return err
				}
				if from, to, err = defaultDiff(versions, from); err != nil {
					return described(err)
				}
			}
			text, err := mind.Diff(ctx, oid, args[1], from, to)
			if err != nil {
				return described(err)
			}
			if a.json {
				return a.printJSON(diffView{Object: oid, Selector: args[1], From: from, To: to, Diff: text})
			}
			if text == "" {
				_, err = fmt.Fprintf(a.stdout, "%s v%d and v%d on object %d hold the same source\n", args[1], from, to, oid)
				return err
			}
			if !strings.HasSuffix(text, "\n") {
				text += "\n"
			}
			_, err = fmt.Fprint(a.stdout, text)
			return err
		}),
	}
}

// defaultDiff picks the versions to compare when TO is not given: from
// (or the version before the current one) to the current one.
func defaultDiff(versions []psm.Version, from int) (int, int, error) {
	cur := -1
	for i, v := range versions {
		if v.Current {
			cur = i
		}
	}
	if cur < 0 {
		cur = len(versions) - 1 // no version is current: compare with the latest
	}
	to := versions[cur].Version
	if from > 0 {
		return from, to, nil
	}
	if cur == 0 {
		return 0, 0, fmt.Errorf("%s on object %d has no version before v%d to compare it with (%w)",
			versions[cur].Selector, versions[cur].Object, to, psm.ErrNoSuchVersion)
	}
	return versions[cur-1].Version, to, nil
}
