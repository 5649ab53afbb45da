package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/batos-dev/batos/uvm"
	"github.com/spf13/cobra"
)

// exportView is what `batos export --json` prints.
type exportView struct {
	Object uvm.OID  `json:"object"`
	Dir    string   `json:"dir"`
	Files  []string `json:"files"`
}

// importView is what `batos import --json` prints.
type importView struct {
	Object uvm.OID `json:"object"`
	Dir    string  `json:"dir"`
	// Installed are the versions the import installed, in file order;
	// files that hold an object's current method are skipped.
	Installed []versionView `json:"installed"`
}

func (a *app) exportCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "export OBJECT DIR",
		Short: "Write an object's methods to DIR as gofmt-ed Go files, one per selector",
		Long: `Write the current methods of OBJECT's own slots to DIR (created if needed),
one gofmt-ed Go file per selector, SELECTOR.go, each opening with a header
comment that says where it came from (version, author, model, cycle, why,
and the arguments it was validated with). Edit them and bring them back
with batos import. Methods OBJECT inherits are not exported.`,
		Example: `  batos export genesis methods/
  batos import genesis methods/`,
		Args: cobra.ExactArgs(2),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			mind, oid, err := a.openObject(ctx, cmd, args[0])
			if err != nil {
				return err
			}
			defer mind.Close()
			files, err := mind.Export(ctx, oid, args[1])
			if err != nil {
				return described(err)
			}
			if a.json {
				return a.printJSON(exportView{Object: oid, Dir: args[1], Files: append([]string{}, files...)})
			}
			if len(files) == 0 {
				_, err = fmt.Fprintf(a.stdout, "object %d has no methods of its own: nothing exported\n", oid)
				return err
			}
			for _, f := range files {
				fmt.Fprintln(a.stdout, f)
			}
			return nil
		}),
	}
}

func (a *app) importCmd() *cobra.Command {
	var act actor
	cmd := &cobra.Command{
		Use:   "import OBJECT DIR",
		Short: "Install the methods in DIR's Go files on an object, each through the cycle's validation",
		Long: `Install the methods in the .go files of DIR (as batos export writes them, or
written by hand: SELECTOR.go holding the method's source) on OBJECT, file
by file in name order, each through the validation a cycle's method
passes: the guardian's audit, a compile, and a dry run with the arguments
its header names. No model is asked. A file that holds the object's
current method is skipped, so importing what export wrote changes
nothing.

The first file that fails validation stops the import (exit status 1, the
message names the file and the step); the files installed before it stay
installed, and the output lists them.`,
		Example: `  batos export genesis methods/ && $EDITOR methods/add.go
  batos import genesis methods/ --why "add checks its arguments"`,
		Args: cobra.ExactArgs(2),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			st, err := os.Stat(args[1])
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("no directory %s to import: %w", args[1], err)
			}
			if err != nil {
				return err
			}
			if !st.IsDir() {
				return usagef("%s is not a directory", args[1])
			}
			ctx := cmd.Context()
			mind, oid, err := a.openObject(ctx, cmd, args[0])
			if err != nil {
				return err
			}
			defer mind.Close()
			versions, ierr := mind.Import(ctx, oid, args[1], a.options(act)...)
			if a.json && ierr == nil {
				iv := importView{Object: oid, Dir: args[1], Installed: []versionView{}}
				for _, v := range versions {
					iv.Installed = append(iv.Installed, viewVersion(v))
				}
				return a.printJSON(iv)
			}
			if !a.json {
				for _, v := range versions {
					printInstalledLine(a.stdout, v)
				}
				if ierr == nil && len(versions) == 0 {
					fmt.Fprintf(a.stdout, "nothing to import: every method in %s is object %d's current one\n", args[1], oid)
				}
			}
			if ierr != nil && len(versions) > 0 {
				ierr = fmt.Errorf("%w (the %d method(s) installed before it stay)", ierr, len(versions))
			}
			return described(ierr)
		}),
	}
	a.actorFlags(cmd, &act, `why, kept in the history (default "imported from FILE")`)
	return cmd
}
