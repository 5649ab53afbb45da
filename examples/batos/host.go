package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/batos-dev/batos/examples/batos/internal/imageview"
	"github.com/batos-dev/batos/examples/batos/internal/kernel"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/store/pgstore"
	"github.com/spf13/cobra"
)

// This file holds what the commands of psm's host door share (history,
// diff, revert, pending, approve, reject, edit, export, import, policy):
// they open the image with its mind in this process, and cannot ask a
// running kernel instead.

// Error kinds of psm's host door, for errors kernel.Classify does not
// name (see described).
const (
	kindAwaitingApproval = kernel.KindAwaitingApproval // a send's method waits for a person (exit status 3)
	kindNotPending       = kernel.KindNotPending       // approve, reject or edit of a cycle that awaits no decision
	kindInvalidSource    = kernel.KindInvalidSource    // source a person installs fails validation
)

// heldError refuses an image another process holds, for a command that
// cannot ask a kernel instead.
type heldError struct {
	dir, command string
	err          error
}

func (e heldError) Error() string {
	return fmt.Sprintf("image %s is open in another process (a running kernel?): stop it, then run batos %s again", e.dir, e.command)
}
func (e heldError) Unwrap() error { return e.err }

// openMind opens an existing image with its mind for cmd; a missing
// image is an error, not a new one.
func (a *app) openMind(ctx context.Context, cmd *cobra.Command) (*psm.Mind, error) {
	if _, err := os.Stat(a.image); err != nil && !pgstore.IsLocation(a.image) {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no image at %s (give --image DIR; a send or serve creates one): %w", a.image, fs.ErrNotExist)
		}
		return nil, err
	}
	opts, _, err := a.mindOptions(nil)
	if err != nil {
		return nil, err
	}
	mind, err := psm.Open(ctx, a.image, opts)
	switch {
	case errors.Is(err, uvm.ErrLocked):
		return nil, heldError{a.image, cmd.Name(), err}
	case errors.Is(err, uvm.ErrCorruptImage):
		return nil, fmt.Errorf("%w; batos salvage %s NEW-DIR copies what is readable", err, a.image)
	}
	return mind, err
}

// openObject opens the image's mind for cmd (see openMind) and resolves
// ref in it; the caller closes the mind.
func (a *app) openObject(ctx context.Context, cmd *cobra.Command, ref string) (*psm.Mind, uvm.OID, error) {
	mind, err := a.openMind(ctx, cmd)
	if err != nil {
		return nil, 0, err
	}
	oid, err := resolve(ctx, mind, ref)
	if err != nil {
		mind.Close()
		return nil, 0, err
	}
	return mind, oid, nil
}

// resolve finds the object a reference (an OID or a root name) names.
func resolve(ctx context.Context, mind *psm.Mind, ref string) (uvm.OID, error) {
	var oid uvm.OID
	err := mind.Image().View(ctx, func(tx *uvm.Tx) error {
		o, err := imageview.Resolve(tx, ref)
		if err == nil {
			oid = o.OID()
		}
		return err
	})
	return oid, err
}

// checkSelector refuses a selector no method can have.
func checkSelector(s string) error {
	if err := uvm.CheckName(s); err != nil {
		return usagef("selector %q: %w", s, err)
	}
	return nil
}

// parseVersion reads a method version, "3" or "v3".
func parseVersion(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(s, "v"))
	if err != nil || n < 1 {
		return 0, usagef("version %q: want a version number such as 2 or v2", s)
	}
	return n, nil
}

// actor holds the --by and --why flags of a command that changes
// methods: who acts and why, which the method's history keeps.
type actor struct {
	by, why string
}

func (a *app) actorFlags(cmd *cobra.Command, act *actor, whyUsage string) {
	cmd.Flags().StringVar(&act.by, "by", "", "who acts, kept in the history (default $USER)")
	if whyUsage != "" {
		cmd.Flags().StringVar(&act.why, "why", "", whyUsage)
	}
}

// options turns the flags into psm's: --by, else $USER, else psm's
// default ("host").
func (a *app) options(act actor) []psm.Option {
	var opts []psm.Option
	if by := cmp.Or(act.by, a.getenv("USER")); by != "" {
		opts = append(opts, psm.By(by))
	}
	if act.why != "" {
		opts = append(opts, psm.Because(act.why))
	}
	return opts
}

// versionView is a method version as `--json` prints it.
type versionView struct {
	Object     uvm.OID   `json:"object"`
	Selector   string    `json:"selector"`
	Version    int       `json:"version"`
	Current    bool      `json:"current"`
	Created    time.Time `json:"created"`
	Author     string    `json:"author,omitempty"`
	Model      string    `json:"model,omitempty"`
	CycleID    string    `json:"cycle,omitempty"`
	ApprovedBy string    `json:"approved_by,omitempty"`
	Restores   int       `json:"restores,omitempty"`
	Why        string    `json:"why,omitempty"`
	Args       any       `json:"args,omitempty"`
	Source     string    `json:"source"`
}

func viewVersion(v psm.Version) versionView {
	vv := versionView{
		Object: v.Object, Selector: v.Selector, Version: v.Version, Current: v.Current, Created: v.Created,
		Author: v.Author, Model: v.Model, CycleID: v.CycleID, ApprovedBy: v.ApprovedBy, Restores: v.Restores,
		Why: v.Why, Source: v.Source,
	}
	if len(v.Args) > 0 {
		vv.Args = imageview.Plain(v.Args, -1)
	}
	return vv
}

// described gives an error of psm's host door the kind kernel.Classify
// does not know yet, so that `--json` prints a kind a program can branch
// on instead of "internal". Other errors pass unchanged.
func described(err error) error {
	if err == nil {
		return nil
	}
	body := errorBody(err)
	var ae *psm.ApprovalError
	switch {
	case errors.As(err, &ae):
		body.Kind, body.Cycle, body.Selector = kindAwaitingApproval, ae.CycleID, ae.Selector
	case errors.Is(err, psm.ErrInvalidSource):
		body.Kind = kindInvalidSource
	case body.Kind != kernel.KindInternal:
		return err
	case errors.Is(err, psm.ErrNoSuchVersion):
		body.Kind = kernel.KindNotFound
	case errors.Is(err, psm.ErrNotPending):
		body.Kind = kindNotPending
	default:
		return err
	}
	return &remoteError{body: body, err: err}
}

// versionNote says who wrote a version and why, in one line.
func versionNote(v psm.Version) string {
	var parts []string
	if v.Author != "" {
		parts = append(parts, "by "+v.Author)
	}
	if v.Model != "" {
		parts = append(parts, "model "+v.Model)
	}
	if v.CycleID != "" {
		parts = append(parts, "cycle "+v.CycleID)
	}
	if v.ApprovedBy != "" {
		parts = append(parts, "approved by "+v.ApprovedBy)
	}
	if v.Restores > 0 {
		parts = append(parts, fmt.Sprintf("restores v%d", v.Restores))
	}
	return strings.Join(parts, ", ")
}

// printInstalled prints a version a person installed: as JSON with
// --json, else one line.
func (a *app) printInstalled(v psm.Version) error {
	if a.json {
		return a.printJSON(viewVersion(v))
	}
	printInstalledLine(a.stdout, v)
	return nil
}

func printInstalledLine(w io.Writer, v psm.Version) {
	fmt.Fprintf(w, "installed %s v%d on object %d (%s)\n", v.Selector, v.Version, v.Object, versionNote(v))
}
