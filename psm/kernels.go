package psm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/batos-dev/batos/uvm"
)

// Many kernels, one mind. An image in a database that several processes
// share (uvm.Image.Shared; see package uvm/store/pgstore) is worked on by
// several Minds at once, each a kernel. Each holds a kernel lease,
// "psm/kernel/<name>", renewed while it is open: a record of a cycle
// whose kernel's lease has lapsed is abandoned, and is closed at the next
// Open or takeover. A top-level cycle holds the cycle lease
// "psm/cycle/<object>/<selector>" from before its first model call to its
// end, renewed at a third of Options.LeaseTTL:
//
//   - a kernel that receives a message whose cycle another kernel holds
//     waits (on the image's change notifications, and polling) for that
//     lease to be released, and then sends the message again: the method
//     the other kernel installed answers it, or, if that cycle failed or
//     waits for approval, the send goes the way a fresh one would;
//   - a kernel that finds the lease expired (its holder died, or stopped
//     renewing) takes the cycle over: it closes the holder's abandoned
//     records and runs the cycle itself;
//   - a cycle that loses its lease (its renewal found another holder) is
//     cancelled with ErrLeaseLost, and its COMPLETE installs only in a
//     transaction that still sees its kernel holding the lease.
//
// A Mind on an image no other process shares takes no leases.

// DefaultLeaseTTL is Options.LeaseTTL's default.
const DefaultLeaseTTL = 10 * time.Second

// kernelLeaseName and cycleLeaseName name the leases a kernel holds.
func kernelLeaseName(kernel string) string { return "psm/kernel/" + kernel }

func cycleLeaseName(key flightKey) string {
	return fmt.Sprintf("psm/cycle/%d/%s", key.oid, key.sel)
}

// defaultKernelName names a kernel after its host and process, with a
// random tail so that a restarted process with the same pid is another
// kernel.
func defaultKernelName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "host"
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// kernel is what a Mind on a shared image keeps for working with other
// kernels: its name and lease, and a broadcast of the image's changes.
type kernel struct {
	name     string
	instance string // the kernel lease's holder: name, "/", a random token
	ttl      time.Duration

	mu      sync.Mutex
	changed chan struct{} // closed, and replaced, at each change

	// installing lets installs and this kernel's lease renewals take
	// turns: installs share it (RLock), a renewal holds it alone. On
	// PostgreSQL a renewal committing while an install transaction is
	// open can make the install a serialization failure (its predicate
	// locks cover far more than the keys it reads), and under load
	// every retry of the install met the next renewal.
	installing sync.RWMutex
}

// renew renews the lease name for holder, between installs (see
// kernel.installing).
func (m *Mind) renew(ctx context.Context, name, holder string) (bool, string, error) {
	m.kernel.installing.Lock()
	defer m.kernel.installing.Unlock()
	return m.im.TryLease(ctx, name, holder, m.kernel.ttl)
}

// duringInstall runs an install transaction between this kernel's lease
// renewals (see kernel.installing).
func (m *Mind) duringInstall(fn func() error) error {
	if m.kernel == nil {
		return fn()
	}
	m.kernel.installing.RLock()
	defer m.kernel.installing.RUnlock()
	return fn()
}

// joinKernels takes the Mind's kernel lease and starts following the
// image: it renews the lease, wakes senders waiting on other kernels'
// cycles, and has the knowledge catalog follow other kernels' commits.
// On an image no other process shares it does nothing.
func (m *Mind) joinKernels(ctx context.Context) error {
	if !m.im.Shared() {
		return nil
	}
	var tok [8]byte
	_, _ = rand.Read(tok[:])
	k := &kernel{name: m.opts.Kernel, ttl: m.opts.LeaseTTL, changed: make(chan struct{})}
	k.instance = k.name + "/" + hex.EncodeToString(tok[:])
	ok, holder, err := m.im.TryLease(ctx, kernelLeaseName(k.name), k.instance, k.ttl)
	if err != nil {
		return fmt.Errorf("psm: open: kernel lease: %w", err)
	}
	if !ok {
		return fmt.Errorf("psm: open: %w: kernel %q is open elsewhere (%s); give each process its own Options.Kernel", ErrKernelInUse, k.name, holder)
	}
	m.kernel = k
	m.installLocks.whole = true
	fctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { m.renewKernel(fctx) })
	wg.Go(func() {
		err := m.im.Follow(fctx, func(uint64) {
			k.broadcast()
			// Searches would refresh the index themselves; doing it now
			// keeps that off the cycles' path.
			if err := m.knowledge.Refresh(fctx); err != nil && fctx.Err() == nil {
				m.opts.Logger.Warn("psm: refreshing the knowledge catalog after another kernel's commit", "error", err)
			}
		})
		if err != nil && fctx.Err() == nil {
			m.opts.Logger.Error("psm: following other kernels' commits stopped; waits fall back to polling", "kernel", k.name, "error", err)
		}
	})
	m.closers = append(m.closers, func() error {
		stop()
		wg.Wait()
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return m.im.ReleaseLease(rctx, kernelLeaseName(k.name), k.instance)
	})
	return nil
}

// renewKernel renews the kernel lease until ctx ends.
func (m *Mind) renewKernel(ctx context.Context) {
	k := m.kernel
	t := time.NewTicker(k.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ok, holder, err := m.renew(ctx, kernelLeaseName(k.name), k.instance)
		switch {
		case err != nil && ctx.Err() == nil:
			m.opts.Logger.Error("psm: renewing the kernel lease", "kernel", k.name, "error", err)
		case err == nil && !ok:
			m.opts.Logger.Error("psm: the kernel lease was taken over; this kernel's open cycles may be closed as abandoned", "kernel", k.name, "holder", holder)
		}
	}
}

// broadcast wakes everything waiting for a change.
func (k *kernel) broadcast() {
	k.mu.Lock()
	close(k.changed)
	k.changed = make(chan struct{})
	k.mu.Unlock()
}

// changes returns a channel closed at the next change.
func (k *kernel) changes() <-chan struct{} {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.changed
}

// heldLeaseKey carries, in a top-level cycle's context, the name of the
// cycle lease its kernel holds.
type heldLeaseKey struct{}

// errOtherKernel finishes a flight whose message another kernel's cycle
// was writing: its senders send again.
var errOtherKernel = errors.New("psm: another kernel's cycle ended")

// cycleLease takes the cycle lease for key before the cycle starts. It
// returns the context the cycle runs in (cancelled with ErrLeaseLost if
// the lease is lost) and the function that stops renewing and releases
// it. When another kernel holds the lease, it waits until that kernel
// releases it, or until it expires (taking the cycle over: it closes the
// holder's records of it), and then returns errOtherKernel: the sender
// sends again, and finds the method that kernel installed, or the
// approval it waits for, or runs a cycle of its own. On an image no other
// process shares it returns ctx as it is.
func (m *Mind) cycleLease(ctx context.Context, key flightKey) (context.Context, func(), error) {
	k := m.kernel
	if k == nil {
		return ctx, func() {}, nil
	}
	name := cycleLeaseName(key)
	waited, prev := false, ""
	for {
		wake := k.changes()
		ok, holder, err := m.im.TryLease(ctx, name, k.name, k.ttl)
		if err != nil {
			return nil, nil, fmt.Errorf("psm: the cycle lease for %s: %w", key, err)
		}
		if ok && !waited {
			lctx, release := m.holdCycleLease(ctx, key, name)
			return lctx, release, nil
		}
		if ok { // expired, and now this kernel's: take the cycle over
			if n, err := m.closeTakenOver(ctx, prev, key); err != nil {
				m.opts.Logger.Error("psm: closing the records of a cycle taken over", "message", key.String(), "from", prev, "error", err)
			} else {
				m.opts.Logger.Warn("psm: took over a cycle whose kernel stopped", "message", key.String(), "kernel", k.name, "from", prev, "records", n)
			}
			if err := m.im.ReleaseLease(ctx, name, k.name); err != nil {
				return nil, nil, fmt.Errorf("psm: the cycle lease for %s: %w", key, err)
			}
			return nil, nil, errOtherKernel
		}
		if !waited {
			m.opts.Logger.Info("psm: waiting for another kernel's cycle", "message", key.String(), "kernel", k.name, "holder", holder)
			waited = true
		}
		prev = holder
		for {
			if err := m.awaitChange(ctx, key, wake); err != nil {
				return nil, nil, err
			}
			wake = k.changes()
			cur, expires, found, err := m.leaseNow(ctx, name)
			if err != nil {
				return nil, nil, err
			}
			if !found {
				return nil, nil, errOtherKernel // released: its outcome is in the image
			}
			if cur != prev || !time.Now().Before(expires) {
				break // taken by another waiter, or expired: try again
			}
		}
	}
}

// awaitChange waits for a change in the image, or for a polling interval
// (changes may be missed while a connection is lost; an expiry is no
// change), or for ctx.
func (m *Mind) awaitChange(ctx context.Context, key flightKey, wake <-chan struct{}) error {
	poll := min(max(m.kernel.ttl/8, 20*time.Millisecond), time.Second)
	t := time.NewTimer(poll)
	defer t.Stop()
	select {
	case <-wake:
	case <-t.C:
	case <-ctx.Done():
		return fmt.Errorf("psm: waiting for another kernel's cycle writing %s: %w", key, ctx.Err())
	}
	return nil
}

// leaseNow reads the lease name in a transaction of its own.
func (m *Mind) leaseNow(ctx context.Context, name string) (holder string, expires time.Time, found bool, err error) {
	err = m.im.View(ctx, func(tx *uvm.Tx) error {
		var err error
		holder, expires, found, err = tx.Lease(name)
		return err
	})
	return holder, expires, found, err
}

// holdCycleLease renews the cycle lease name until the returned function
// is called, which also releases it. The context it returns is cancelled
// with ErrLeaseLost when a renewal finds another holder.
func (m *Mind) holdCycleLease(ctx context.Context, key flightKey, name string) (context.Context, func()) {
	k := m.kernel
	cctx, cancel := context.WithCancelCause(context.WithValue(ctx, heldLeaseKey{}, name))
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(k.ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			ok, holder, err := m.renew(cctx, name, k.name)
			if err == nil && !ok {
				cancel(&LeaseLostError{Kernel: k.name, Lease: name, Holder: holder})
				return
			}
			if err != nil && cctx.Err() == nil {
				m.opts.Logger.Error("psm: renewing a cycle lease", "message", key.String(), "error", err)
			}
		}
	})
	release := func() {
		close(done)
		wg.Wait()
		cancel(nil)
		rctx, stop := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer stop()
		if err := m.im.ReleaseLease(rctx, name, k.name); err != nil {
			m.opts.Logger.Error("psm: releasing a cycle lease; it expires on its own", "message", key.String(), "error", err)
		}
	}
	return cctx, release
}

// checkLease fails a top-level cycle's install transaction when its
// kernel no longer holds the cycle lease in it (another kernel took the
// cycle over); reading the lease in tx makes a takeover committed
// meanwhile a conflict.
func (m *Mind) checkLease(ctx context.Context, tx *uvm.Tx) error {
	name, ok := ctx.Value(heldLeaseKey{}).(string)
	if !ok || m.kernel == nil {
		return nil
	}
	holder, _, found, err := tx.Lease(name) // expired but not taken over: still ours
	if err != nil {
		return err
	}
	if !found || holder != m.kernel.name {
		return &LeaseLostError{Kernel: m.kernel.name, Lease: name, Holder: holder}
	}
	return nil
}

// kernelAlive reports whether the kernel named holds its kernel lease in
// tx (an open Mind renews it; a dead one's lapses).
func kernelAlive(tx *uvm.Tx, name string, now time.Time) (bool, error) {
	holder, expires, found, err := tx.Lease(kernelLeaseName(name))
	if err != nil || !found {
		return false, err
	}
	return strings.HasPrefix(holder, name+"/") && now.Before(expires), nil
}
