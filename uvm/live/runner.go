package live

import (
	"context"
	"errors"
	"fmt"
	"go/token"
	"hash/maphash"
	"sync"
	"weak"

	"github.com/batos-dev/batos/uvm"
)

// Runner compiles and runs methods stored as Go source. It implements
// uvm.MethodRunner: put it in uvm.Options.Runner. It is safe for
// concurrent use; Close it when done to stop its workers.
type Runner struct {
	opts Options
	eng  *engine
	pool *pool
	seed maphash.Seed

	mu       sync.Mutex
	cands    map[uint64][]candEntry // audited sources, by hash of selector and source
	nCands   int
	policies map[weak.Pointer[uvm.Image]]string // committed image policies
	closed   bool
}

var _ uvm.MethodRunner = (*Runner)(nil)

// New returns a Runner with the given options (zero values mean the
// defaults). Workers start lazily, on the first isolated call.
func New(opts Options) (*Runner, error) {
	opts.fill()
	if err := checkPolicy(opts.Policy); err != nil {
		return nil, err
	}
	syms, _, err := sandboxSymbols(opts.Imports, hostSymbols())
	if err != nil {
		return nil, err
	}
	r := &Runner{
		opts:     opts,
		eng:      newEngine(syms, opts.GenerationMethods, opts.Logger),
		seed:     maphash.MakeSeed(),
		cands:    map[uint64][]candEntry{},
		policies: map[weak.Pointer[uvm.Image]]string{},
	}
	r.pool = newPool(&r.opts)
	return r, nil
}

// Close stops the Runner's workers. Calls still running finish; later
// calls fail with ErrClosed.
func (r *Runner) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.pool.close()
	return nil
}

func (r *Runner) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// checkSelector accepts the selectors a generated method can have: Go
// identifiers (the entry function is named after the selector).
func checkSelector(s string) error {
	if err := uvm.CheckName(s); err != nil {
		return err
	}
	if !token.IsIdentifier(s) {
		return &uvm.NameError{Name: s, Reason: "a method's selector must be a Go identifier"}
	}
	return nil
}

func checkPolicy(p string) error {
	switch p {
	case "", PolicyIsolated, PolicyInProcess:
		return nil
	}
	return fmt.Errorf("%w: %q (want %q or %q)", ErrPolicy, p, PolicyIsolated, PolicyInProcess)
}

// nameMethod makes an audit's refusal name the method and version it was
// about (the runtime's own errors already do).
func nameMethod(err error, m *uvm.Method) error {
	var ce *CompileError
	if errors.As(err, &ce) {
		return err
	}
	return fmt.Errorf("live: method %s: %w", methodName(m.Selector, m.Version), err)
}

func withVersionErr(err error, version int) error {
	var ce *CompileError
	if errors.As(err, &ce) && ce.Version != version {
		return withVersion(ce, version)
	}
	return err
}

// Run implements uvm.MethodRunner: it runs c.Method on c.Receiver inside
// the sender's transaction, in the place its policy names.
func (r *Runner) Run(ctx context.Context, c *uvm.Call) (any, error) {
	if c == nil || c.Method == nil || c.Receiver == nil || c.Tx == nil {
		return nil, errors.New("live: Run needs a call with a transaction, a receiver and a method")
	}
	if r.isClosed() {
		return nil, ErrClosed
	}
	m := c.Method
	policy, err := r.policyFor(ctx, c.Tx, m)
	if err != nil {
		return nil, err
	}
	cand, err := r.candidate(m.Source, m.Selector, m.Version)
	if err != nil {
		return nil, nameMethod(err, m)
	}
	if policy == PolicyInProcess {
		return r.runInProcess(ctx, c, m, cand.p)
	}
	return r.runIsolated(ctx, c, m, cand.p)
}

// policyFor resolves where m runs: its own policy, else the image's, else
// Options.Policy.
func (r *Runner) policyFor(ctx context.Context, tx *uvm.Tx, m *uvm.Method) (string, error) {
	if m.Policy != "" {
		if err := checkPolicy(m.Policy); err != nil {
			return "", fmt.Errorf("method %s: %w", methodName(m.Selector, m.Version), err)
		}
		return m.Policy, nil
	}
	p, err := r.imagePolicy(ctx, tx)
	if err != nil {
		return "", err
	}
	if p != "" {
		return p, nil
	}
	return r.opts.Policy, nil
}

// imagePolicy returns the image's policy. For an image only this process
// opens it is the committed policy, read once and cached until
// SetImagePolicy changes it. On a shared image another process may change
// it at any commit, so it is read in the sender's transaction (one read
// per transaction: the store keeps what a transaction read), which also
// makes a concurrent change of policy conflict with the send.
func (r *Runner) imagePolicy(ctx context.Context, tx *uvm.Tx) (string, error) {
	im := tx.Image()
	key := weak.Make(im)
	r.mu.Lock()
	p, ok := r.policies[key]
	r.mu.Unlock()
	if ok {
		return p, nil // never cached for a shared image
	}
	if im.Shared() {
		return ImagePolicy(tx)
	}
	err := im.View(ctx, func(tx *uvm.Tx) error {
		var err error
		p, err = ImagePolicy(tx)
		return err
	})
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	if len(r.policies) >= 16 {
		for k := range r.policies {
			if k.Value() == nil {
				delete(r.policies, k)
			}
		}
	}
	r.policies[key] = p
	r.mu.Unlock()
	return p, nil
}

// policyNS and policyKey locate the image's execution policy record.
const (
	policyNS  = "live"
	policyKey = "policy"
)

// ImagePolicy reads the execution policy recorded in the image ("" when
// none is, meaning the Runner's Options.Policy).
func ImagePolicy(tx *uvm.Tx) (string, error) {
	b, err := tx.GetRecord(policyNS, policyKey)
	if errors.Is(err, uvm.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	p := string(b)
	if err := checkPolicy(p); err != nil {
		return "", fmt.Errorf("live: the image records policy %q: %w", p, err)
	}
	return p, nil
}

// SetImagePolicy records the image's execution policy in tx: the policy of
// every method whose own Policy is empty. "" removes the record, leaving
// Options.Policy in charge. It takes effect when tx commits. A Runner
// caches the policy of an image only this process opens, so change such
// an image's policy through the Runner that runs it; on a shared image
// (uvm.Image.Shared) every Runner reads it in each sending transaction,
// so a change committed by any process applies to the next send.
func (r *Runner) SetImagePolicy(tx *uvm.Tx, policy string) error {
	if err := checkPolicy(policy); err != nil {
		return err
	}
	var err error
	if policy == "" {
		err = tx.DeleteRecord(policyNS, policyKey)
	} else {
		err = tx.PutRecord(policyNS, policyKey, []byte(policy))
	}
	if err != nil {
		return err
	}
	key := weak.Make(tx.Image())
	tx.OnCommit(func() {
		r.mu.Lock()
		delete(r.policies, key)
		r.mu.Unlock()
	})
	return nil
}

// stateKey carries a synchronous call chain and its budget through nested
// sends that run in this process.
type stateKey struct{}

type callState struct {
	ch    *chain
	b     *budget
	scope *Scope
}

// runInProcess runs a prepared method in this process.
func (r *Runner) runInProcess(ctx context.Context, c *uvm.Call, m *uvm.Method, p prepared) (any, error) {
	st, _ := ctx.Value(stateKey{}).(*callState)
	top := false
	if st == nil {
		st = &callState{ch: &chain{}}
		st.scope, top = scopeFor(ctx, m.Selector, m.Version)
		st.b = newBudget(ctx, limitsOf(&r.opts))
		ctx = context.WithValue(ctx, stateKey{}, st)
	}
	ch, b := st.ch, st.b
	comp, err := r.eng.get(ch, p, m.Version)
	if err != nil {
		return nil, remap(err, p)
	}
	info := &callInfo{selector: m.Selector, version: m.Version}
	s := &hostSelf{view: c.Self(ctx), oid: uint64(c.Receiver.OID()), b: b, info: info}
	comp.gen.begin(ch)
	oc := invoke(comp.fn, s, c.Args)
	comp.gen.end(ch)
	s.ended.Store(true)
	if top {
		if err := st.scope.failed(); err != nil {
			return nil, err
		}
	}
	if err := callError(info, b, oc); err != nil {
		return nil, err
	}
	return toResult(oc.res, r.opts.MaxResultBytes, m.Selector, m.Version)
}

// compileInWorker compiles p in a warm worker.
func (r *Runner) compileInWorker(ctx context.Context, p prepared, version int) error {
	w, err := r.pool.get(ctx, p.Key)
	if err != nil {
		return err
	}
	healthy := false
	defer func() { r.pool.put(w, healthy) }()
	timer := context.AfterFunc(ctx, func() { w.kill("canceled") })
	defer timer()
	src := source{Key: p.Key, Pkg: p.Pkg, Selector: p.Selector}
	if !w.known[p.Key] {
		src.Text = p.Source
	}
	if err := w.write(&request{Op: opCompile, Comp: &compileRequest{Src: src, Version: version}}); err != nil {
		return r.workerFailed(ctx, &active{p: w}, &uvm.Method{Selector: p.Selector, Version: version}, err)
	}
	resp, err := w.read()
	if err != nil {
		return r.workerFailed(ctx, &active{p: w}, &uvm.Method{Selector: p.Selector, Version: version}, err)
	}
	w.known[p.Key] = true
	healthy = resp.Op == opCompiled
	return errorFromWire(resp.Err, p.Selector, version)
}

// Stats describe a Runner's compiled code and workers.
type Stats struct {
	Generations       int // interpreter generations the cache refers to
	CurrentGeneration int // the number of the generation compiles go to
	Compiled          int // methods compiled in this process and cached
	IdleWorkers       int
	WorkersStarted    int64 // workers started so far
	WorkerFailures    int64 // workers that died, or were killed, during a call
}

// Stats reports the Runner's state, for tests and monitoring.
func (r *Runner) Stats() Stats {
	g, n, cur := r.eng.stats()
	return Stats{Generations: g, CurrentGeneration: cur, Compiled: n, IdleWorkers: r.pool.count(),
		WorkersStarted: r.pool.started.Load(), WorkerFailures: r.pool.died.Load()}
}
