package psm

import (
	"context"
	"sync"
	"time"

	"github.com/batos-dev/batos/uvm"
)

// progress writes a cycle's record in the background as the cycle goes
// (cycle.saveStart): a save writes the record as it was when the save was
// asked for (the mission brief, for the first), at most one save is in
// flight, and a save asked for meanwhile is folded into one more save of
// the record as it is then, so the cycle never waits for a commit to
// enter its next state, and no save can overwrite a later one. The
// record's final saves wait for it (cycle.awaitStart).
//
// A state the cycle enters is saved only once the cycle has been in it
// for progressDelay (later): most states pass in milliseconds, and a
// commit each would slow a quick cycle down; a state a process can die in
// unnoticed is one that lasts (a model call, a dry run).
//
// Progress saves do not wait for the disk (uvm.Tx.DeferSync): a kernel
// that dies keeps them (the operating system has them), and the record's
// final save, which does wait, makes them durable with it. Only a power
// failure during the cycle can lose them, and with them the sign that a
// cycle had begun that acknowledged nothing. Eight cycles at once spent
// about a tenth of their CPU syncing these notes.
type progress struct {
	mu      sync.Mutex
	running bool
	again   bool          // another save was asked for while one ran
	idle    chan struct{} // closed when the latest round of saves is over
	err     error         // the latest save's error
	timer   *time.Timer   // a later save, not yet started
	round   int           // numbers the timers; a stale one does nothing
}

// progressDelay is how long a cycle stays in a state before the state is
// saved.
const progressDelay = 100 * time.Millisecond

// later saves c's record once progressDelay has passed, unless another
// save or a wait comes first.
func (p *progress) later(ctx context.Context, c *cycle) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.timer != nil {
		p.timer.Stop()
	}
	p.round++
	round := p.round
	p.timer = time.AfterFunc(progressDelay, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.round == round {
			p.timer = nil
			p.start(ctx, c)
		}
	})
}

// save writes c's record in the background now (see progress).
func (p *progress) save(ctx context.Context, c *cycle) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
		p.round++
	}
	p.start(ctx, c)
}

// start starts a save, or folds it into the one running; p.mu is held.
func (p *progress) start(ctx context.Context, c *cycle) {
	if p.running {
		p.again = true
		return
	}
	p.running = true
	idle := make(chan struct{})
	p.idle = idle
	b, err := c.marshal()
	go func() {
		defer close(idle)
		for {
			if err == nil {
				err = c.im.Update(ctx, func(tx *uvm.Tx) error {
					tx.DeferSync() // see progress
					return tx.PutRecord(recordNS, c.id, b)
				})
			}
			p.mu.Lock()
			p.err = err
			if !p.again {
				p.running = false
				p.mu.Unlock()
				return
			}
			p.again = false
			p.mu.Unlock()
			b, err = c.marshal()
		}
	}()
}

// wait drops a later save not yet started, waits for the saves in flight
// and returns the latest one's error.
func (p *progress) wait() error {
	p.mu.Lock()
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
		p.round++
	}
	idle := p.idle
	p.mu.Unlock()
	if idle != nil {
		<-idle
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}
