package psm

import (
	"context"
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
// for it instead of starting their own. The cycle runs on a goroutine of
// its own, with a context (ctx) that carries the first sender's values
// but not its cancellation: it is cancelled when the last sender waiting
// for the cycle gives up, so that one sender leaving (a closed browser
// tab) does not cost the others a second cycle and its model calls.
type flight struct {
	done   chan struct{}
	ctx    *flightContext
	method uvm.Method
	err    error
	// abandoned says that every sender had given up before the cycle
	// ended: a cancellation in err is then theirs, not the cycle's own
	// (Options.CycleTimeout), and a sender that joined meanwhile runs the
	// cycle again.
	abandoned bool

	senders int // senders waiting for it; flights.mu guards it
}

type flights struct {
	mu sync.Mutex
	m  map[flightKey]*flight
}

// join returns the flight for k, counting the caller among its senders,
// and whether the caller leads it: the leader starts the cycle, with a
// context made from ctx (see flight), and must call finish when it ends.
func (f *flights) join(k flightKey, ctx context.Context) (*flight, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[flightKey]*flight{}
	}
	if fl, ok := f.m[k]; ok {
		fl.senders++
		return fl, false
	}
	fl := &flight{done: make(chan struct{}), senders: 1}
	fl.ctx = &flightContext{Context: context.WithoutCancel(ctx), done: make(chan struct{})}
	f.m[k] = fl
	return fl, true
}

// leave takes a sender that gives up, because its context ended with
// err, off fl; when it was the last, the cycle's context ends with err
// too, and leave reports true: the caller then waits for the cycle to end
// (and close its record) before it returns. A sender that joined a cycle
// already cancelled (every earlier sender had left; the one that
// cancelled it waits for it) does not end it: leave reports false, and
// the sender returns at once.
func (f *flights) leave(fl *flight, err error) (last bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl.senders--
	if fl.senders > 0 {
		return false
	}
	return fl.ctx.end(err)
}

func (f *flights) finish(k flightKey, fl *flight, m uvm.Method, err error) {
	f.mu.Lock()
	delete(f.m, k)
	fl.abandoned = fl.ctx.Err() != nil
	f.mu.Unlock()
	fl.ctx.end(context.Canceled) // what the cycle derived from it ends too
	fl.method, fl.err = m, err
	close(fl.done)
}

// flightContext is a flight's context: the first sender's values and no
// deadline, done when the last sender waiting for the cycle gives up,
// with that sender's error (context.Canceled or DeadlineExceeded), so the
// cycle's record and error say what ended it.
type flightContext struct {
	context.Context // context.WithoutCancel of the first sender's
	done            chan struct{}

	mu  sync.Mutex
	err error
}

func (c *flightContext) Done() <-chan struct{} { return c.done }

func (c *flightContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// end ends the context with err, once, and reports whether this call
// ended it.
func (c *flightContext) end(err error) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return false
	}
	c.err = err
	close(c.done)
	return true
}
