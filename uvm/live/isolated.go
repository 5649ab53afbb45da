package live

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/batos-dev/batos/uvm"
)

// active is an isolated call in progress: its worker, which waits for the
// parent while the parent performs a send for it. A nested isolated call
// made meanwhile (through the context) runs in the same worker.
type active struct {
	p         *proc
	deadline  time.Time
	limit     time.Duration
	broken    bool        // the protocol failed; the worker must not be reused
	timer     *time.Timer // kills the worker at the deadline
	suspended time.Duration
	scope     *Scope
	// sem is the pool's bound on workers at once, whose token the call
	// holds; lent is set while Suspend has given it back.
	sem  chan struct{}
	lent bool
}

type activeKey struct{}

func activeFrom(ctx context.Context) *active {
	a, _ := ctx.Value(activeKey{}).(*active)
	return a
}

// killGrace lets a worker report its own time budget error before the
// parent kills it.
const killGrace = 500 * time.Millisecond

// runIsolated runs a prepared method in a worker.
func (r *Runner) runIsolated(ctx context.Context, c *uvm.Call, m *uvm.Method, p prepared) (any, error) {
	if a := activeFrom(ctx); a != nil {
		return r.exchange(ctx, a, c, m, p)
	}
	w, err := r.pool.get(ctx, p.Key)
	if err != nil {
		return nil, err
	}
	limit := r.opts.Timeout
	deadline := time.Now().Add(limit)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline, limit = d, time.Until(d)
	}
	a := &active{p: w, deadline: deadline, limit: limit, sem: r.pool.sem}
	var top bool
	a.scope, top = scopeFor(ctx, m.Selector, m.Version)
	a.timer = time.AfterFunc(time.Until(deadline)+killGrace, func() { w.kill("timeout") })
	stop := context.AfterFunc(ctx, func() { w.kill("canceled") })
	finished := false
	defer func() {
		// Also when a host-side send panics through here: the worker is
		// retired, not leaked with its slot.
		a.timer.Stop()
		stop()
		r.pool.put(w, finished && !a.broken)
	}()
	res, err := r.exchange(ctx, a, c, m, p)
	finished = true
	if top {
		if serr := a.scope.failed(); serr != nil {
			return nil, serr
		}
	}
	return res, err
}

// exchange runs one method on the active worker and serves its sends.
func (r *Runner) exchange(ctx context.Context, a *active, c *uvm.Call, m *uvm.Method, p prepared) (any, error) {
	w := a.p
	if a.broken {
		return nil, r.workerFailed(ctx, a, m, nil)
	}
	allowed := map[uint64]bool{uint64(c.Receiver.OID()): true}
	snap, err := takeSnapshot(c.Tx, c.Receiver, allowed)
	if err != nil {
		return nil, err
	}
	src := source{Key: p.Key, Pkg: p.Pkg, Selector: p.Selector}
	if !w.known[p.Key] {
		src.Text = p.Source
	}
	left := time.Until(a.deadline)
	if left <= 0 {
		return nil, &BudgetError{Selector: m.Selector, Version: m.Version, Resource: "time", Limit: a.limit.Milliseconds(), Unit: "ms"}
	}
	req := &runRequest{
		Src: src, Version: m.Version, Receiver: uint64(c.Receiver.OID()), Snap: snap,
		Args: wireList(c.Args), Fuel: r.opts.Fuel, Alloc: r.opts.MaxAlloc, Depth: r.opts.MaxDepth,
		Timeout: left, CPU: left + time.Second,
	}
	if err := w.write(&request{Op: opRun, Run: req}); err != nil {
		return nil, r.workerFailed(ctx, a, m, err)
	}
	w.known[p.Key] = true
	for {
		resp, err := w.read()
		if err != nil {
			return nil, r.workerFailed(ctx, a, m, err)
		}
		if err := applyWrites(ctx, c, resp.Flush, allowed); err != nil {
			// The worker asked for something the parent refuses: it is
			// not trusted again.
			a.broken = true
			w.kill("protocol")
			return nil, err
		}
		switch resp.Op {
		case opDone:
			if resp.Retire {
				a.broken = true
			}
			if resp.Err != nil {
				return nil, remap(errorFromWire(resp.Err, m.Selector, m.Version), p)
			}
			return fromWire(resp.Result), nil
		case opSend, opSync:
			reply := &sendReply{}
			if resp.Op == opSend {
				nctx := context.WithValue(ctx, activeKey{}, a)
				res, serr := c.Self(nctx).Send(resp.Selector, fromWireList(resp.Args)...)
				if a.broken {
					return nil, r.workerFailed(ctx, a, m, nil)
				}
				if serr == nil {
					pl := &plainer{limit: r.opts.MaxResultBytes}
					res, serr = pl.convert("the answer", res, 0)
				}
				if serr != nil {
					text, safe := errorText(serr)
					reply.Err = &wireError{Kind: weOther, Text: text}
					if safe {
						reply.Err.Sentinels = sentinelsOf(serr)
					}
				} else {
					reply.Result = toWire(res)
				}
			}
			reply.Suspended, a.suspended = a.suspended, 0
			if reply.Snap, err = takeSnapshot(c.Tx, c.Receiver, allowed); err != nil {
				reply.Err = &wireError{Kind: weOther, Text: err.Error()}
			}
			if err := w.write(&request{Op: opReply, Reply: reply}); err != nil {
				return nil, r.workerFailed(ctx, a, m, err)
			}
		default:
			a.broken = true
			w.kill("protocol")
			return nil, &WorkerError{Selector: m.Selector, Version: m.Version, Cause: fmt.Sprintf("protocol violation (operation %d)", resp.Op)}
		}
	}
}

// workerFailed turns a broken pipe into a typed error, waiting briefly for
// the worker's exit status and last words.
func (r *Runner) workerFailed(ctx context.Context, a *active, m *uvm.Method, ioErr error) error {
	if !a.broken {
		r.pool.died.Add(1)
	}
	a.broken = true
	w := a.p
	select {
	case <-w.exited:
	case <-time.After(2 * time.Second):
		w.kill("unresponsive")
		<-w.exited
	}
	we := &WorkerError{Selector: m.Selector, Version: m.Version, Detail: w.stderr.String()}
	switch w.reason() {
	case "timeout":
		we.Cause = fmt.Sprintf("killed after the wall-clock limit of %v", a.limit.Round(time.Millisecond))
		we.Resource = "time"
		return we
	case "canceled":
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("live: method %s: %w", methodName(m.Selector, m.Version), err)
		}
	}
	we.Cause, we.Resource = classifyDeath(we.Detail, w)
	r.opts.Logger.Warn("live: worker died", "method", m.Selector, "version", m.Version, "cause", we.Cause, "io", ioErr)
	return we
}

// classifyDeath reads a dead worker's last words.
func classifyDeath(stderr string, w *proc) (cause, resource string) {
	switch {
	case strings.Contains(stderr, "stack exceeds") || strings.Contains(stderr, "stack overflow"):
		return "stack overflow (recursion too deep)", "stack"
	case strings.Contains(stderr, "out of memory") || strings.Contains(stderr, "cannot allocate memory"):
		return "out of memory (the worker's address-space limit)", "memory"
	case strings.Contains(stderr, "cpu time limit exceeded"):
		return "CPU time limit exceeded", "cpu"
	}
	for _, line := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ") {
			return "the worker crashed: " + clip(strings.TrimSpace(line), 300), ""
		}
	}
	w.mu.Lock()
	werr := w.waitErr
	w.mu.Unlock()
	if werr != nil {
		return "the worker exited: " + werr.Error(), ""
	}
	return "the worker closed its pipe", ""
}

// takeSnapshot records what a method running on recv may read: every data
// slot visible from it, exactly as uvm.Self.Get would find it, with its
// holder (added to allowed, so in-place changes to an inherited container
// may come back as writes to that holder).
func takeSnapshot(tx *uvm.Tx, recv *uvm.Object, allowed map[uint64]bool) (snapshot, error) {
	snap := snapshot{ReadOnly: !tx.Writable(), Own: recv.Slots()}
	// Each name that is data somewhere from recv up is looked up; a name
	// that is a method wherever it is held is not data (and is not looked
	// up, nor are the methods of recv's ancestors read: an object may hold
	// hundreds).
	names := map[string]bool{}
	visited := map[uvm.OID]bool{}
	queue := []*uvm.Object{recv}
	for len(queue) > 0 {
		o := queue[0]
		queue = queue[1:]
		if visited[o.OID()] {
			continue
		}
		visited[o.OID()] = true
		for _, n := range o.DataSlots() {
			names[n] = true
		}
		for _, pid := range o.Parents() {
			if visited[pid] {
				continue
			}
			po, err := tx.Object(pid)
			if err != nil {
				if errors.Is(err, uvm.ErrNotFound) {
					continue
				}
				return snapshot{}, err
			}
			queue = append(queue, po)
		}
	}
	for n := range names {
		f, err := tx.Lookup(recv, n)
		if err != nil {
			var amb *uvm.AmbiguousError
			var nu *uvm.NotUnderstoodError
			if errors.As(err, &amb) || errors.As(err, &nu) {
				continue
			}
			return snapshot{}, err
		}
		switch f.Value.(type) {
		case uvm.Method, uvm.Primitive:
			continue // behaviour, not data: Get does not see it
		}
		h := uint64(f.Holder.OID())
		allowed[h] = true
		snap.Names = append(snap.Names, n)
		snap.Holders = append(snap.Holders, h)
		snap.Values = append(snap.Values, toWire(f.Value))
	}
	return snap, nil
}

// applyWrites validates a worker's write-set and applies it in the
// caller's transaction with the semantics of uvm.Self: writes do not mark,
// so the persistence covenant still holds; the mark is applied only if the
// method made it.
func applyWrites(ctx context.Context, c *uvm.Call, ws writeSet, allowed map[uint64]bool) error {
	for _, w := range ws.Writes {
		if !allowed[w.OID] {
			return &WorkerError{Selector: c.Selector, Cause: fmt.Sprintf("write-set names object %d, which the method could not reach", w.OID)}
		}
		o := c.Receiver
		if w.OID != uint64(o.OID()) {
			var err error
			if o, err = c.Tx.Object(uvm.OID(w.OID)); err != nil {
				return err
			}
		}
		view := (&uvm.Call{Tx: c.Tx, Receiver: o}).Self(ctx)
		var err error
		if w.Delete {
			err = view.Delete(w.Slot)
		} else {
			err = view.Set(w.Slot, fromWire(w.Value))
		}
		if err != nil {
			return err
		}
	}
	if ws.Marked {
		c.Receiver.MarkChanged()
	}
	return nil
}

// Suspend stops the wall-clock budget of the generated method ctx is
// running in (in this process or in a worker) until resume is called: the
// time the host then spends on the method's behalf — a cognitive cycle
// waiting on a model to write the method it sent for — is not the
// method's. A worker whose call is suspended does not count against
// Options.MaxWorkers meanwhile, so that the host's work (the cycle's
// compile and dry runs, in workers of their own) gets one even when
// suspended calls hold every worker; resume waits for a worker's turn
// again before the call goes on. Outside a generated method it does
// nothing. resume must be called once, on the same goroutine.
func Suspend(ctx context.Context) (resume func()) {
	a := activeFrom(ctx)
	st, _ := ctx.Value(stateKey{}).(*callState)
	if a == nil && st == nil {
		return func() {}
	}
	start := time.Now()
	if a != nil && a.timer != nil {
		a.timer.Stop()
	}
	lent := a != nil && a.sem != nil && !a.lent
	if lent {
		a.lent = true
		<-a.sem
	}
	return func() {
		if lent {
			a.sem <- struct{}{} // the wait is not charged to the method either
			a.lent = false
		}
		held := time.Since(start)
		if st != nil && st.b != nil {
			st.b.deadline = st.b.deadline.Add(held)
		}
		if a != nil {
			a.deadline = a.deadline.Add(held)
			if d, ok := ctx.Deadline(); ok && d.Before(a.deadline) {
				a.deadline = d
			}
			a.suspended += held
			if a.timer != nil {
				a.timer.Reset(time.Until(a.deadline) + killGrace)
			}
		}
	}
}

// Detach returns a context for work that a generated method's send starts
// but that is not part of the method's call: calls made under it run on a
// worker of their own (not the caller's) and with budgets of their own. A
// cognitive cycle's dry runs use it.
func Detach(ctx context.Context) context.Context {
	return context.WithValue(context.WithValue(ctx, activeKey{}, (*active)(nil)), stateKey{}, (*callState)(nil))
}
