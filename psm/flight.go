package psm

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/batos-dev/batos/uvm"
)

// flightKey names a method being written: one receiver, one selector.
type flightKey struct {
	oid uvm.OID
	sel string
}

func (k flightKey) String() string { return fmt.Sprintf("%q on object %d", k.sel, k.oid) }

// flight is one cycle in progress; later senders of the same message wait
// for it instead of starting their own.
type flight struct {
	done      chan struct{}
	method    uvm.Method
	err       error
	candidate *uvm.Method // the source under dry run, guarded by flights.mu
}

type flights struct {
	mu sync.Mutex
	m  map[flightKey]*flight
}

// join returns the flight for k and whether the caller leads it (and must
// call finish).
func (f *flights) join(k flightKey) (*flight, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[flightKey]*flight{}
	}
	if fl, ok := f.m[k]; ok {
		return fl, false
	}
	fl := &flight{done: make(chan struct{})}
	f.m[k] = fl
	return fl, true
}

// setCandidate publishes (or, with nil, withdraws) the candidate a flight
// is dry-running, so that a recursive send inside the dry run reaches it.
func (f *flights) setCandidate(k flightKey, m *uvm.Method) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fl, ok := f.m[k]; ok {
		fl.candidate = m
	}
}

// candidate returns the method under dry run for k, if any.
func (f *flights) candidate(k flightKey) (uvm.Method, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fl, ok := f.m[k]; ok && fl.candidate != nil {
		return *fl.candidate, true
	}
	return uvm.Method{}, false
}

func (f *flights) finish(k flightKey, fl *flight, m uvm.Method, err error) {
	f.mu.Lock()
	delete(f.m, k)
	f.mu.Unlock()
	fl.method, fl.err = m, err
	close(fl.done)
}

// chain is the stack of cycles a call is nested in, carried in the context.
type chain struct {
	keys  []flightKey
	cycle string // the innermost cycle's id
}

type chainCtxKey struct{}

func chainOf(ctx context.Context) chain {
	c, _ := ctx.Value(chainCtxKey{}).(chain)
	return c
}

func (c chain) with(k flightKey, cycleID string) chain {
	return chain{keys: append(slices.Clone(c.keys), k), cycle: cycleID}
}

func (c chain) contains(k flightKey) bool { return slices.Contains(c.keys, k) }
