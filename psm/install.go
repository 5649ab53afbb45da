package psm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live"
)

// An Option qualifies what a person does through a Mind (Install,
// Revert, Import, Approve, Reject, Edit): who does it, why, and the
// arguments a dry run tries the method with.
type Option func(*hostOptions)

type hostOptions struct {
	by      string
	why     string
	args    []any
	hasArgs bool
}

// By names who acts; the method's history and the cycle's record keep
// it. The default is "host".
func By(name string) Option { return func(o *hostOptions) { o.by = name } }

// Because gives the reason, which the method's history keeps.
func Because(reason string) Option { return func(o *hostOptions) { o.why = reason } }

// WithArgs gives the arguments the dry run tries the method with. Without
// it, Install tries it with none; Revert and Import with the arguments
// the version was validated with.
func WithArgs(args ...any) Option {
	return func(o *hostOptions) { o.args, o.hasArgs = args, true }
}

func hostOpts(opts []Option) hostOptions {
	o := hostOptions{by: "host"}
	for _, fn := range opts {
		fn(&o)
	}
	if strings.TrimSpace(o.by) == "" {
		o.by = "host"
	}
	return o
}

// Install installs source a person wrote as the next version of selector
// on the object oid, through the validation a cycle's method passes:
// the guardian's audit, a compile, and a dry run on the object with
// WithArgs's arguments (none by default) in a transaction that is
// always discarded, with the persistence covenant checked as a commit
// would. No model is involved. Source that fails is not installed: the
// error is an *InstallError naming the object, the selector and the
// step. The version's history keeps who installed it (By) and why
// (Because); the method is learned by the skill index like a cycle's.
//
// A dry run starts no cycle: a message the method sends that nothing
// answers fails it. uvm.Tx.InstallMethod is the low-level, unaudited
// way around all of this.
func (m *Mind) Install(ctx context.Context, oid uvm.OID, selector, src string, opts ...Option) (Version, error) {
	if err := m.enter(); err != nil {
		return Version{}, err
	}
	defer m.leave()
	o := hostOpts(opts)
	if o.why == "" {
		o.why = "installed by " + o.by
	}
	return m.installHost(ctx, oid, selector, src, o, versionNote{By: o.by, Why: o.why})
}

// installHost validates src and installs it, with note (its Args are
// the dry run's).
func (m *Mind) installHost(ctx context.Context, oid uvm.OID, selector, src string, o hostOptions, note versionNote) (Version, error) {
	cand, err := m.compileHost(ctx, oid, selector, src)
	if err != nil {
		return Version{}, err
	}
	if _, err := m.dryRun(ctx, oid, selector, cand, o.args, nil); err != nil {
		return Version{}, err
	}
	note.Args = o.args
	var installed uvm.Method
	err = m.im.Update(ctx, func(tx *uvm.Tx) error {
		target, err := tx.Object(oid)
		if err != nil {
			return err
		}
		installed, err = m.installIn(ctx, tx, target, cand, uvm.Method{Persona: note.By, Intent: note.Why}, note)
		return err
	})
	if err != nil {
		return Version{}, fmt.Errorf("psm: install %q on object %d: %w", selector, oid, err)
	}
	return m.version(ctx, oid, installed)
}

// installIn installs a validated candidate on target in tx, learns it and
// keeps its note.
func (m *Mind) installIn(ctx context.Context, tx *uvm.Tx, target *uvm.Object, cand candidate, meta uvm.Method, note versionNote) (uvm.Method, error) {
	installed, err := cand.Install(ctx, tx, target, meta)
	if err != nil {
		return uvm.Method{}, err
	}
	if err := m.knowledge.Learn(ctx, tx, target.OID(), installed); err != nil {
		return uvm.Method{}, fmt.Errorf("learn %q: %w", installed.Selector, err)
	}
	if err := putNote(tx, target.OID(), installed, note); err != nil {
		return uvm.Method{}, err
	}
	return installed, nil
}

// compileHost audits and compiles src for a person's install.
func (m *Mind) compileHost(ctx context.Context, oid uvm.OID, selector, src string) (candidate, error) {
	cand, err := m.compiler.Compile(ctx, src, selector)
	if err != nil {
		stage := "audit"
		var ce *live.CompileError
		if errors.As(err, &ce) {
			stage = "compile"
		}
		return nil, &InstallError{Object: oid, Selector: selector, Stage: stage, Err: err}
	}
	return cand, nil
}

// hostRunKey marks the context of a dry run a person asked for: a message
// nothing answers fails it instead of starting a cycle.
type hostRunKey struct{}

// refuseInHostRun is the DoesNotUnderstand answer inside such a dry run.
func refuseInHostRun(msg *uvm.Message) error {
	return fmt.Errorf("psm: the dry run sent %q to object %d, which does not understand it, and a person's dry run starts no cycle; install that method first: %w",
		msg.Selector, msg.Receiver.OID(), &uvm.NotUnderstoodError{Receiver: msg.Receiver.OID(), Selector: msg.Selector})
}

// pre is a validated method a dry run needs installed first (the nested
// methods of an approval being edited).
type pre struct {
	oid  uvm.OID
	cand candidate
}

// dryRun runs cand as selector on oid with args in a transaction that is
// always discarded, with the methods in before installed in it first and
// cand itself too (so a recursive send reaches it, not an older version),
// and checks the covenant. It returns what the dry run answered and
// changed, or an *InstallError.
func (m *Mind) dryRun(ctx context.Context, oid uvm.OID, selector string, cand candidate, args []any, before []pre) (dryRunResult, error) {
	ctx = context.WithValue(ctx, hostRunKey{}, true)
	var res dryRunResult
	var runErr error
	err := m.im.Update(ctx, func(tx *uvm.Tx) error {
		installed := map[uvm.Change]bool{}
		for _, p := range append(before, pre{oid, cand}) {
			o, err := tx.Object(p.oid)
			if err != nil {
				return err
			}
			meth, err := p.cand.Install(ctx, tx, o, uvm.Method{})
			if err != nil {
				return err
			}
			installed[uvm.Change{OID: p.oid, Slot: meth.Selector}] = true
		}
		target, err := tx.Object(oid)
		if err != nil {
			return err
		}
		var answer any
		answer, runErr = cand.DryRun(ctx, tx, target, args...)
		if runErr == nil {
			runErr = tx.CheckCovenant()
		}
		res.answer = describe(answer)
		for _, c := range tx.Changes() {
			if !installed[uvm.Change{OID: c.OID, Slot: c.Slot}] {
				res.changed = append(res.changed, c.String())
			}
		}
		return errDryRun
	})
	if !errors.Is(err, errDryRun) {
		return res, &InstallError{Object: oid, Selector: selector, Stage: "dry run", Err: err}
	}
	if runErr != nil {
		return res, &InstallError{Object: oid, Selector: selector, Stage: "dry run", Err: runErr}
	}
	return res, nil
}

// dryRunResult is what a dry run answered (described) and changed.
type dryRunResult struct {
	answer  string
	changed []string
}

// Args are a message's arguments as a record keeps them, in JSON: a
// float without a fraction that was an integer comes back as int64, and
// values JSON cannot hold (non-finite floats) as strings.
type Args []any

// MarshalJSON writes the arguments in a JSON-safe form.
func (a Args) MarshalJSON() ([]byte, error) {
	out := make([]any, len(a))
	for i, v := range a {
		out[i] = jsonSafe(v)
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads arguments, numbers without a fraction or exponent
// as int64.
func (a *Args) UnmarshalJSON(b []byte) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v []any
	if err := d.Decode(&v); err != nil {
		return err
	}
	for i := range v {
		v[i] = fromJSON(v[i])
	}
	*a = v
	return nil
}

func fromJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil && !strings.ContainsAny(x.String(), ".eE") {
			return n
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = fromJSON(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = fromJSON(x[k])
		}
	}
	return v
}
