package main

import (
	"fmt"

	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/spf13/cobra"
)

// policyView is what `batos policy --json` prints.
type policyView struct {
	Object          uvm.OID        `json:"object"`
	Generation      psm.Generation `json:"generation"`
	AllowNearMisses bool           `json:"allow_near_misses"`
}

func (a *app) policyCmd() *cobra.Command {
	var nearMisses bool
	cmd := &cobra.Command{
		Use:   "policy [OBJECT [auto|approve|never]]",
		Short: "Show or set the generation policy: what becomes of a message nothing understands",
		Long: `Show the generation policy of OBJECT (default traits, which holds the
image-wide one), as found through its delegation chain, or give OBJECT a
policy of its own, for it and every object that delegates to it:

  auto     a cycle writes, validates and installs the method (the default)
  approve  the cycle stops after VALIDATING and waits for a person:
           batos pending, approve, reject, edit (send exits with status 3)
  never    nothing is written: the send fails at once, no model is asked

Before any cycle, a selector a typo away from one the object answers is
refused with "did you mean …"; --allow-near-misses, given when setting,
lets such selectors start cycles too.

This is not --policy, the execution policy of generated methods (isolated
or in-process).`,
		Example: `  batos policy
  batos policy traits approve
  batos policy genesis never
  batos policy genesis auto --allow-near-misses`,
		Args: cobra.MaximumNArgs(2),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			var set *psm.Policy
			if len(args) == 2 {
				g := psm.Generation(args[1])
				switch g {
				case psm.GenerateAuto, psm.GenerateApprove, psm.GenerateNever:
				default:
					return usagef("policy %q: want auto, approve or never", args[1])
				}
				set = &psm.Policy{Generation: g, AllowNearMisses: nearMisses}
			} else if cmd.Flags().Changed("allow-near-misses") {
				return usagef("--allow-near-misses is given with a policy to set: batos policy OBJECT MODE --allow-near-misses")
			}
			ctx := cmd.Context()
			mind, err := a.openMind(ctx, cmd)
			if err != nil {
				return err
			}
			defer mind.Close()
			ref := psm.RootTraits
			if len(args) > 0 {
				ref = args[0]
			}
			oid, err := resolve(ctx, mind, ref)
			if err != nil {
				return err
			}
			if set != nil {
				if err := mind.SetPolicy(ctx, oid, *set); err != nil {
					return err
				}
			}
			p, err := mind.Policy(ctx, oid)
			if err != nil {
				return err
			}
			if p.Generation == "" {
				p.Generation = psm.GenerateAuto
			}
			if a.json {
				return a.printJSON(policyView{Object: oid, Generation: p.Generation, AllowNearMisses: p.AllowNearMisses})
			}
			guard := "near misses refused"
			if p.AllowNearMisses {
				guard = "near misses allowed"
			}
			label := fmt.Sprint(oid)
			if ref != label {
				label += " (" + ref + ")"
			}
			_, err = fmt.Fprintf(a.stdout, "object %s: %s, %s\n", label, p.Generation, guard)
			return err
		}),
	}
	cmd.Flags().BoolVar(&nearMisses, "allow-near-misses", false, "with a policy to set: let a selector a typo away from a known one start a cycle")
	return cmd
}
