package main

import (
	"github.com/spf13/cobra"
)

func (a *app) revertCmd() *cobra.Command {
	var act actor
	cmd := &cobra.Command{
		Use:   "revert OBJECT SELECTOR VERSION",
		Short: "Install an earlier version's source of a method as a new version",
		Long: `Install the source of VERSION (2 or v2, as batos history lists them) of
SELECTOR on OBJECT as a new version, through the validation a cycle's
method passes: the guardian's audit, a compile, and a dry run with the
arguments that version was validated with. No model is asked. The history
keeps every version; the new one says which it restores, who reverted it
(--by) and why (--why).

Source that fails validation is not installed (exit status 1, the message
names the step).`,
		Example: `  batos revert genesis add 1
  batos revert genesis add v1 --why "v2 rounds wrongly" --by ada`,
		Args: cobra.ExactArgs(3),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			if err := checkSelector(args[1]); err != nil {
				return err
			}
			version, err := parseVersion(args[2])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			mind, oid, err := a.openObject(ctx, cmd, args[0])
			if err != nil {
				return err
			}
			defer mind.Close()
			v, err := mind.Revert(ctx, oid, args[1], version, a.options(act)...)
			if err != nil {
				return described(err)
			}
			return a.printInstalled(v)
		}),
	}
	a.actorFlags(cmd, &act, `why, kept in the history (default "revert to vN")`)
	return cmd
}
