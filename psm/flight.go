package psm

import (
	"fmt"
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
	done   chan struct{}
	method uvm.Method
	err    error
	// leaderGone says that the leader's own context had ended when the
	// cycle did: a cancellation or deadline in err is then the leader's
	// sender's, not the cycle's (Options.CycleTimeout), and a waiter
	// whose context is live runs the cycle again.
	leaderGone bool
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

func (f *flights) finish(k flightKey, fl *flight, m uvm.Method, err error) {
	f.mu.Lock()
	delete(f.m, k)
	f.mu.Unlock()
	fl.method, fl.err = m, err
	close(fl.done)
}
