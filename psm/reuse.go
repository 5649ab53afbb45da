package psm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"strconv"

	"github.com/batos-dev/batos/uvm"
)

// Reuse before regenerate.
//
// DELEGATING searches the skill index for installed methods similar to
// the mission. When the most similar one is at least
// Options.ReuseThreshold similar, the cycle tries it before asking the
// model: SYNTHESIZING proposes, instead of a model's reply, source that
// reuses it, and VALIDATING checks that source like any other (audit,
// compile, a dry run with the mission's arguments, then each of its
// examples). If it passes, the cycle installs it and the model is never
// asked for this method; if not, the cycle asks the model as usual, with
// its attempts intact.
//
// The contract lets a method send messages to its own receiver only
// (Self.Send), so the reuse takes one of two forms:
//
//   - delegate: when the similar method is reachable from the mission's
//     receiver (it holds it, or inherits it from a parent, and a lookup
//     of its selector there finds that very method), a method that sends
//     the similar selector with the same arguments; it follows the
//     similar method's later versions.
//   - copy: otherwise, the similar method's current source, its entry
//     function renamed to the mission's selector. It runs on the
//     receiver as the original runs on its own object. A similar method
//     that only forwards its message to another selector (a delegation
//     an earlier reuse installed) is not copied: the method it forwards
//     to, looked up from its object, is reused instead, and the record
//     names that one.
//
// The record says what was reused (Record.Reused) and counts the model
// call saved (Record.ModelCallsAvoided); the version's history says
// "reused …" as the reason. A replay reuses what its record reused, and
// nothing else (a copy, of the version the record copied); a fork asks
// its model.

// Ways to reuse a method (Reuse.How).
const (
	ReuseDelegate = "delegate"
	ReuseCopy     = "copy"
)

// Reuse is an installed method a cycle reused instead of asking a model
// to write one.
type Reuse struct {
	Object     uvm.OID `json:"object"` // the object holding the reused method
	Selector   string  `json:"selector"`
	Version    int     `json:"version"`
	Similarity float32 `json:"similarity"`
	How        string  `json:"how"` // ReuseDelegate or ReuseCopy
}

func (r Reuse) String() string {
	how := "delegates to it"
	if r.How == ReuseCopy {
		how = "a copy of its source"
	}
	return fmt.Sprintf("reused %s v%d from object %d (similarity %.2f): %s", r.Selector, r.Version, r.Object, r.Similarity, how)
}

// skill is an installed method the skill index found similar to a
// mission.
type skill struct {
	OID        uvm.OID
	Selector   string
	Version    int
	Intent     string
	Similarity float32
}

// String describes the skill as the synthesis prompt lists it.
func (s skill) String() string {
	return fmt.Sprintf("%s (object %d, v%d): %s", s.Selector, s.OID, s.Version, s.Intent)
}

func describeSkills(ss []skill) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		out = append(out, s.String())
	}
	return out
}

// reuseProposal is source that reuses a similar method, for SYNTHESIZING
// to propose instead of asking the model.
type reuseProposal struct {
	Reuse
	source string
}

// proposeReuse (in DELEGATING) looks, among the similar methods found,
// best first, for one similar enough to try, and keeps source reusing
// it for SYNTHESIZING.
func (m *Mind) proposeReuse(ctx context.Context, c *cycle) {
	w := &c.work
	w.reuse = nil
	if !(m.opts.ReuseThreshold >= 0) || (c.replay != nil && c.replay.model != nil) {
		return // off (negative or NaN), or a fork: its model is asked
	}
	for _, s := range w.similar {
		if float64(s.Similarity) < m.opts.ReuseThreshold {
			continue
		}
		p, err := m.reuseSource(ctx, c.mission, s, c.replay != nil)
		if err != nil {
			c.event(ctx, Event{Kind: EventNote, Text: fmt.Sprintf("%s on object %d is similar (%.2f) but cannot be reused: %v", s.Selector, s.OID, s.Similarity, err)})
			continue
		}
		w.reuse = p
		text := fmt.Sprintf("%s v%d on object %d is similar (%.2f): trying it (%s) before asking the model", s.Selector, p.Version, s.OID, s.Similarity, p.How)
		if p.Object != s.OID || p.Selector != s.Selector {
			text = fmt.Sprintf("%s on object %d is similar (%.2f) and forwards to %s v%d on object %d: trying that (%s) before asking the model", s.Selector, s.OID, s.Similarity, p.Selector, p.Version, p.Object, p.How)
		}
		c.event(ctx, Event{Kind: EventNote, Text: text})
		return
	}
}

// errNotReusable says why a similar method cannot be reused.
var errNotReusable = errors.New("not reusable")

// reuseSource reads the similar method s from the image and writes the
// source that reuses it for mission. A copy is of the method's current
// version, or, for a rerun (pinned), of the version s names, the one its
// record copied: like a recorded reply, it is what the cycle was given,
// not what the image holds now.
//
// A method that only forwards its message to another selector (as a
// delegation does) is copied as the method it forwards to, found from
// its holder, at most maxForwards hops away.
func (m *Mind) reuseSource(ctx context.Context, mission Mission, s skill, pinned bool) (*reuseProposal, error) {
	var p *reuseProposal
	err := m.im.View(ctx, func(tx *uvm.Tx) error {
		var err error
		p, err = m.reuseSourceIn(tx, mission, s, pinned, 0)
		return err
	})
	return p, err
}

// maxForwards bounds the forwarding methods reuseSource follows.
const maxForwards = 8

// reuseSourceIn is reuseSource inside tx, hops forwarding methods away
// from the similar method the skill index found.
func (m *Mind) reuseSourceIn(tx *uvm.Tx, mission Mission, s skill, pinned bool, hops int) (*reuseProposal, error) {
	target, err := tx.Object(mission.Target)
	if err != nil {
		return nil, err
	}
	holder, err := tx.Object(s.OID)
	if err != nil {
		return nil, err
	}
	meth, ok := ownMethod(holder, s.Selector)
	if !ok {
		return nil, fmt.Errorf("%w: object %d no longer holds it", errNotReusable, s.OID)
	}
	r := Reuse{Object: s.OID, Selector: s.Selector, Version: meth.Version, Similarity: s.Similarity}
	if f, err := tx.Lookup(target, s.Selector); err == nil && f.Holder.OID() == s.OID {
		if s.Selector == mission.Selector {
			return nil, fmt.Errorf("%w: the receiver already answers it", errNotReusable)
		}
		r.How = ReuseDelegate
		return &reuseProposal{Reuse: r, source: delegateSource(mission.Selector, r)}, nil
	}
	if pinned && s.Version > 0 && s.Version != meth.Version {
		if meth, err = tx.MethodVersion(holder, s.Selector, s.Version); err != nil {
			return nil, fmt.Errorf("%w: v%d: %v", errNotReusable, s.Version, err)
		}
		r.Version = meth.Version
	}
	if to, ok := forwards(meth.Source, s.Selector); ok && !pinned {
		// Copied, a method that only forwards its message would send one
		// the receiver does not answer: reuse what it forwards to.
		if hops >= maxForwards {
			return nil, fmt.Errorf("%w: it forwards %s more than %d times", errNotReusable, s.Selector, maxForwards)
		}
		f, err := tx.Lookup(holder, to)
		if err != nil {
			return nil, fmt.Errorf("%w: it forwards to %s, which object %d does not answer: %v", errNotReusable, to, s.OID, err)
		}
		if _, ok := ownMethod(f.Holder, to); !ok {
			return nil, fmt.Errorf("%w: it forwards to %s, which is no method on object %d", errNotReusable, to, f.Holder.OID())
		}
		s.OID, s.Selector, s.Version = f.Holder.OID(), to, 0
		return m.reuseSourceIn(tx, mission, s, pinned, hops+1)
	}
	src, err := renameEntry(meth.Source, s.Selector, mission.Selector)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNotReusable, err)
	}
	r.How = ReuseCopy
	return &reuseProposal{Reuse: r, source: src}, nil
}

// forwards reports the selector that the function entry of src only
// sends to its receiver with the same arguments, as delegateSource
// writes it: func entry(self batos.Self, args []any) (any, error) {
// return self.Send("to", args...) }.
func forwards(src, entry string) (string, bool) {
	f, err := parser.ParseFile(token.NewFileSet(), "method.go", src, 0)
	if err != nil {
		return "", false
	}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Recv != nil || fd.Name.Name != entry || fd.Body == nil || len(fd.Body.List) != 1 {
			continue
		}
		params := fd.Type.Params.List
		if len(params) != 2 || len(params[0].Names) != 1 || len(params[1].Names) != 1 {
			return "", false
		}
		self, args := params[0].Names[0].Name, params[1].Names[0].Name
		ret, ok := fd.Body.List[0].(*ast.ReturnStmt)
		if !ok || len(ret.Results) != 1 {
			return "", false
		}
		call, ok := ret.Results[0].(*ast.CallExpr)
		if !ok || !call.Ellipsis.IsValid() || len(call.Args) != 2 {
			return "", false
		}
		fun, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || fun.Sel.Name != "Send" || !isIdent(fun.X, self) || !isIdent(call.Args[1], args) {
			return "", false
		}
		lit, ok := call.Args[0].(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return "", false
		}
		to, err := strconv.Unquote(lit.Value)
		if err != nil || to == "" {
			return "", false
		}
		return to, true
	}
	return "", false
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

// delegateSource is a method for selector that sends r's selector to its
// receiver with the same arguments.
func delegateSource(selector string, r Reuse) string {
	return fmt.Sprintf(`package reuse

import "batos"

// %[1]s answers as %[2]s does: the skill index found %[2]s (object %[3]d)
// similar, and a dry run confirmed it, so %[1]s delegates to it.
func %[1]s(self batos.Self, args []any) (any, error) {
	return self.Send(%[2]q, args...)
}
`, selector, r.Selector, r.Object)
}

// renameEntry renames the entry function of src from old to selector,
// with the references to it (a recursive method's calls).
func renameEntry(src, old, selector string) (string, error) {
	if old == selector {
		return src, nil
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "method.go", src, parser.ParseComments)
	if err != nil {
		return "", err
	}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == selector {
			return "", fmt.Errorf("it already declares a function %s", selector)
		}
	}
	found := false
	ast.Inspect(f, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.SelectorExpr:
			ast.Inspect(x.X, func(n ast.Node) bool { // x.Sel is a field or method, not the function
				if id, ok := n.(*ast.Ident); ok && id.Name == old {
					id.Name = selector
				}
				return true
			})
			return false
		case *ast.Ident:
			if x.Name == old {
				x.Name, found = selector, true
			}
		}
		return true
	})
	if !found {
		return "", fmt.Errorf("no function %s in its source", old)
	}
	var b bytes.Buffer
	if err := format.Node(&b, fset, f); err != nil {
		return "", err
	}
	return b.String(), nil
}

// reusing (in SYNTHESIZING) puts the source DELEGATING proposed in place
// of a model's reply, once; it reports whether it did.
func (m *Mind) reusing(ctx context.Context, c *cycle, s State) bool {
	w := &c.work
	if w.reuse == nil || w.reuseTried {
		return false
	}
	w.reuseTried = true
	c.enter(ctx, s, fmt.Sprintf("reusing %s v%d from object %d (%s) instead of asking the model", w.reuse.Selector, w.reuse.Version, w.reuse.Object, w.reuse.How))
	w.source, w.validated, w.passed = w.reuse.source, "", nil
	src := w.source
	c.update(func(r *Record) { r.Source = src })
	return true
}

// reuseValidated (in VALIDATING) records the reuse once its source
// passed.
func (m *Mind) reuseValidated(ctx context.Context, c *cycle) {
	w := &c.work
	if w.reuse == nil || w.source != w.reuse.source {
		return
	}
	r := w.reuse.Reuse
	w.reused = &r
	c.update(func(rec *Record) { rec.Reused, rec.ModelCallsAvoided = &r, 1 })
	c.event(ctx, Event{Kind: EventNote, Text: r.String() + "; no model call"})
}

// reuseRejected (in VALIDATING) drops reused source that failed: the
// cycle goes on to ask the model, with its attempts intact. It reports
// whether the failed source was the reuse.
func (m *Mind) reuseRejected(ctx context.Context, c *cycle, err error) bool {
	w := &c.work
	if w.reuse == nil || w.source != w.reuse.source {
		return false
	}
	c.event(ctx, Event{Kind: EventNote, Text: fmt.Sprintf("not reused: %s v%d from object %d failed validation (%v); asking the model", w.reuse.Selector, w.reuse.Version, w.reuse.Object, err)})
	w.reuse, w.source, w.feedback = nil, "", ""
	return true
}

// note is what a version's history keeps about how its cycle wrote it.
func (c *cycle) note() versionNote {
	n := versionNote{Model: c.model, Args: c.mission.Args}
	if r := c.work.reused; r != nil {
		n.Model, n.Why = "", reusedWhy(r)
	}
	return n
}

// reusedWhy is the reason a version's history gives for a reuse: what
// was reused, or "" for a method a model wrote.
func reusedWhy(r *Reuse) string {
	if r == nil {
		return ""
	}
	return r.String()
}

// recordedReuse turns what a record reused back into the one similar
// method DELEGATING found, for a rerun (see Mind.Replay).
func recordedReuse(rec Record) []skill {
	if rec.Reused == nil {
		return nil
	}
	r := rec.Reused
	return []skill{{OID: r.Object, Selector: r.Selector, Version: r.Version, Similarity: r.Similarity}}
}
