package main

import (
	"errors"
	"fmt"

	"github.com/batos-dev/batos/uvm"
	"github.com/spf13/cobra"
)

// salvageView is what `batos salvage --json` prints.
type salvageView struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Complete is true when nothing was damaged, lost or possibly stale.
	Complete       bool         `json:"complete"`
	Objects        int          `json:"objects"`
	MethodVersions int          `json:"method_versions"`
	Records        int          `json:"records"`
	Blobs          int          `json:"blobs"`
	Roots          int          `json:"roots"`
	Damaged        []damageView `json:"damaged"`
	Lost           []lossView   `json:"lost"`
	Stale          []lossView   `json:"stale"`
	Missing        []lossView   `json:"missing"`
}

// damageView is a damaged place in a file of the image.
type damageView struct {
	File   string `json:"file"`
	Offset int64  `json:"offset"` // bytes from the file's start; -1 if unknown
	Reason string `json:"reason"`
}

// lossView is one thing salvage could not copy, or copied with a caveat.
type lossView struct {
	Kind   string  `json:"kind"`
	Object uvm.OID `json:"object,omitempty"`
	Name   string  `json:"name,omitempty"`
	Reason string  `json:"reason"`
	Text   string  `json:"text"` // the whole of it, in words
}

func viewLosses(ls []uvm.Loss) []lossView {
	out := make([]lossView, len(ls))
	for i, l := range ls {
		out[i] = lossView{Kind: l.Kind, Object: l.OID, Name: l.Name, Reason: l.Reason, Text: l.String()}
	}
	return out
}

func (a *app) salvageCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "salvage FROM TO",
		Short: "Copy everything readable in a damaged image into a new one, and report what was lost",
		Long: `Copy everything readable in the image in FROM into a new image in TO (which
must not exist, or be empty), reading FROM's files directly, so it works
when opening FROM fails with "corrupt image": every object with every slot
whose checksum holds, every intact method version, cycle record, root and
blob. FROM is left as it was.

The report lists the damaged places in FROM's files, what could not be
copied (lost), what was copied but may be older than it was (possibly
stale), and objects still referred to that were not found (missing). The
exit status is 0 when the copy was made, complete or not (--json says
"complete"); 1 when it could not be made. Check the new image with batos
inspect, then use it in FROM's place.`,
		Example: `  batos salvage demo.image demo.salvaged
  batos --image demo.salvaged inspect`,
		Args: cobra.ExactArgs(2),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			from, to := args[0], args[1]
			rep, err := uvm.Salvage(cmd.Context(), from, to)
			if errors.Is(err, uvm.ErrLocked) {
				return fmt.Errorf("%w (a running kernel?): stop it, then run batos salvage again", err)
			}
			if err != nil {
				return err
			}
			if a.json {
				v := salvageView{
					From: from, To: to, Complete: rep.Complete(),
					Objects: rep.Objects, MethodVersions: rep.MethodVersions, Records: rep.Records, Blobs: rep.Blobs, Roots: rep.Roots,
					Damaged: make([]damageView, len(rep.Damaged)),
					Lost:    viewLosses(rep.Lost), Stale: viewLosses(rep.Stale), Missing: viewLosses(rep.Missing),
				}
				for i, d := range rep.Damaged {
					v.Damaged[i] = damageView{File: d.File, Offset: d.Offset, Reason: d.Reason}
				}
				return a.printJSON(v)
			}
			fmt.Fprintf(a.stdout, "salvaged %s into %s: ", from, to)
			if rep.Complete() && len(rep.Missing) == 0 {
				fmt.Fprintln(a.stdout, "nothing was damaged or lost")
			} else {
				fmt.Fprintf(a.stdout, "%d damaged place(s), %d lost, %d possibly stale, %d missing\n",
					len(rep.Damaged), len(rep.Lost), len(rep.Stale), len(rep.Missing))
			}
			_, err = fmt.Fprint(a.stdout, rep.String())
			return err
		}),
	}
}
