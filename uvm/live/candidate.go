package live

import (
	"context"
	"fmt"
	"hash/maphash"

	"github.com/batos-dev/batos/guardian"
	"github.com/batos-dev/batos/uvm"
)

// A Candidate is source that passed the audit and the runtime's own
// checks and compiled: a method that can be tried ([Candidate.DryRun]) and
// installed ([Candidate.Install]) without being audited or compiled
// again. [Runner.Compile] makes one. A Candidate never changes; it is safe
// for concurrent use.
type Candidate struct {
	r        *Runner
	selector string
	src      string           // as submitted
	rep      *guardian.Report // the audit's report; Source is what compiles
	p        prepared
}

// Selector returns the selector the candidate was compiled for.
func (c *Candidate) Selector() string { return c.selector }

// Source returns the source as it was submitted (and as it is installed).
func (c *Candidate) Source() string { return c.src }

// Report returns the audit's report: the instrumented source that
// compiles, its imports, whether it writes state and the rewrites the
// audit made. The caller must not modify it.
func (c *Candidate) Report() *guardian.Report { return c.rep }

// Compile audits src as the method for selector (Options.Audit), checks it
// against the runtime's own rules and compiles it without running it: in
// a worker when isolation is available, so that a candidate that is never
// installed costs the host no interpreter memory, else in this process.
//
// The error is the audit's refusal as the audit returned it (with the
// default audit a *guardian.Rejection, which errors.As finds and which
// matches guardian.ErrRejected), a *uvm.NameError for a selector that is
// not a Go identifier, a *CompileError (ErrCompile, or ErrRefused for a
// construct the runtime never runs), a *WorkerError, or ErrClosed.
//
// The Runner keeps what the audit found by selector and source, so a
// method installed from the candidate is not audited again when it runs.
func (r *Runner) Compile(ctx context.Context, src, selector string) (*Candidate, error) {
	if r.isClosed() {
		return nil, ErrClosed
	}
	if err := checkSelector(selector); err != nil {
		return nil, err
	}
	c, err := r.candidate(src, selector, 0)
	if err != nil {
		return nil, err
	}
	if err := c.compileFor(ctx, PolicyIsolated); err != nil {
		return nil, err
	}
	return c, nil
}

// Install audits and compiles m (as Compile does, but where the method
// will run: in this process for PolicyInProcess, in a worker otherwise)
// and installs it on o as the next version of its selector (see
// [uvm.Tx.InstallMethod]). It is the way to install a method the host
// wrote; a cycle that has a Candidate already uses [Candidate.Install].
func (r *Runner) Install(ctx context.Context, tx *uvm.Tx, o *uvm.Object, m uvm.Method) (uvm.Method, error) {
	if r.isClosed() {
		return uvm.Method{}, ErrClosed
	}
	if err := checkSelector(m.Selector); err != nil {
		return uvm.Method{}, err
	}
	policy, err := r.policyFor(ctx, tx, &m)
	if err != nil {
		return uvm.Method{}, err
	}
	c, err := r.candidate(m.Source, m.Selector, 0)
	if err != nil {
		return uvm.Method{}, err
	}
	if err := c.compileFor(ctx, policy); err != nil {
		return uvm.Method{}, err
	}
	return c.Install(ctx, tx, o, m)
}

// DryRun runs the candidate on o with args, without installing it, inside
// tx: it is activated as tx.Run activates a method (with tx's send depth,
// and with the candidate named in a covenant error), always in a worker,
// and what it writes is applied to tx like any method's writes, so a
// caller that discards tx afterwards leaves the image as it was. Sends the
// candidate makes reach the image's methods.
//
// tx's image must run its methods with the Runner that compiled the
// candidate (uvm.Options.Runner): that Runner finds the candidate's audit
// by its source instead of auditing again.
func (c *Candidate) DryRun(ctx context.Context, tx *uvm.Tx, o *uvm.Object, args ...any) (any, error) {
	if c.r.isClosed() {
		return nil, ErrClosed
	}
	return tx.Run(ctx, o, uvm.Method{Selector: c.selector, Source: c.src, Policy: PolicyIsolated}, args...)
}

// Install installs the candidate on o as the next version of its selector
// (see [uvm.Tx.InstallMethod]), with the metadata in meta (Persona,
// CycleID, Intent, Policy, Created); the selector and source are the
// candidate's, whatever meta says, and the version is the next one. It
// neither audits nor compiles: the method compiles from its source where
// its policy runs it, on its first send.
func (c *Candidate) Install(ctx context.Context, tx *uvm.Tx, o *uvm.Object, meta uvm.Method) (uvm.Method, error) {
	if c.r.isClosed() {
		return uvm.Method{}, ErrClosed
	}
	if err := checkPolicy(meta.Policy); err != nil {
		return uvm.Method{}, fmt.Errorf("method %s: %w", methodName(c.selector, 0), err)
	}
	meta.Selector, meta.Source, meta.Version = c.selector, c.src, 0
	return tx.InstallMethod(o, meta)
}

// compileFor compiles the candidate where a method of the given policy
// runs: in this process for PolicyInProcess (and wherever isolation is
// unavailable), else in a warm worker.
func (c *Candidate) compileFor(ctx context.Context, policy string) error {
	r := c.r
	if policy == PolicyInProcess || r.opts.Workers < 0 || !isolationSupported {
		_, err := r.eng.get(&chain{}, c.p, 0)
		return remap(err, c.p)
	}
	return remap(r.compileInWorker(ctx, c.p, 0), c.p)
}

// candEntry is the outcome of auditing and preparing one source: a
// candidate, or the reason there is none.
type candEntry struct {
	selector, src string
	c             *Candidate
	err           error
}

// maxCands bounds the Runner's cache of audited sources; past it, the
// cache starts over.
const maxCands = 8192

// candidate audits, instruments and prepares src for selector, keeping the
// outcome by selector and source, so that a method is audited once per
// process, not once per send (nor once more when a Candidate is installed
// and sent). It is the Runner's one cache of audits; version only names
// the method in a compile error.
func (r *Runner) candidate(src, selector string, version int) (*Candidate, error) {
	h := maphash.String(r.seed, selector) ^ maphash.String(r.seed, src)*31
	r.mu.Lock()
	for _, e := range r.cands[h] {
		if e.selector == selector && e.src == src {
			r.mu.Unlock()
			if e.err != nil {
				return nil, withVersionErr(e.err, version)
			}
			return e.c, nil
		}
	}
	r.mu.Unlock()

	e := candEntry{selector: selector, src: src}
	rep, err := (*guardian.Report)(nil), checkHostUse(src, selector)
	if err == nil {
		rep, err = r.audit(src, selector)
	}
	if err == nil {
		var p prepared
		p, err = prepare(string(rep.Source), selector, version, !r.opts.skipRuntimeChecks)
		p.Orig = src
		e.c = &Candidate{r: r, selector: selector, src: src, rep: rep, p: p}
	}
	e.err = err
	if err != nil {
		e.c = nil
	}
	r.mu.Lock()
	if r.nCands >= maxCands {
		r.cands, r.nCands = map[uint64][]candEntry{}, 0
	}
	r.cands[h] = append(r.cands[h], e)
	r.nCands++
	r.mu.Unlock()
	if e.err != nil {
		return nil, withVersionErr(e.err, version)
	}
	return e.c, nil
}

// audit runs Options.Audit, turning a panic in it into an error.
func (r *Runner) audit(src, selector string) (rep *guardian.Report, err error) {
	defer func() {
		if rec := recover(); rec != nil {
			rep, err = nil, fmt.Errorf("live: the audit of %q panicked: %s", selector, describePanic(rec))
		}
	}()
	rep, err = r.opts.Audit(src, selector)
	if err == nil && rep == nil {
		err = fmt.Errorf("live: the audit of %q returned no report", selector)
	}
	return rep, err
}
