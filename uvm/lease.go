package uvm

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/batos-dev/batos/uvm/store"
)

// Leases let several processes that share one image (on PostgreSQL) agree
// that one of them does a piece of work, such as the cognitive cycle for
// a message none of them understands: a lease is a key in the image
// naming its holder and an expiry, taken in a transaction of its own, so
// that of two processes taking it at once one wins and the other
// conflicts, rereads and sees it held. A holder that dies stops renewing,
// and the lease is taken over once it expires.

func leaseKey(name string) []byte { return append([]byte{pfxLease}, name...) }

// TryLease takes the lease name for holder until ttl from now, if it is
// free, expired, or already holder's (which renews it). It reports
// whether holder has the lease, and otherwise who does.
func (im *Image) TryLease(ctx context.Context, name, holder string, ttl time.Duration) (ok bool, current string, err error) {
	if name == "" || holder == "" || bytes.IndexByte([]byte(holder), 0) >= 0 {
		return false, "", &NameError{Name: name + "/" + holder, Reason: "a lease needs a name and a holder without NUL"}
	}
	if err := im.enter(); err != nil {
		return false, "", err
	}
	defer im.leave()
	key := leaseKey(name)
	err = im.leaseUpdate(ctx, func(txn store.Txn) error {
		v, _, found, err := txn.Get(key, nil)
		if err != nil {
			return err
		}
		now := time.Now()
		if found {
			h, exp, herr := decodeLease(v)
			if herr == nil && h != holder && now.UnixNano() < exp {
				ok, current = false, h
				return nil
			}
		}
		ok, current = true, holder
		val := binary.BigEndian.AppendUint64(append([]byte(holder), 0), uint64(now.Add(ttl).UnixNano()))
		return txn.Set(key, val)
	})
	if err != nil {
		return false, "", fmt.Errorf("uvm: lease %q: %w", name, err)
	}
	return ok, current, nil
}

// ReleaseLease gives up holder's lease name; a lease held by another (or
// by none) is left as it is.
func (im *Image) ReleaseLease(ctx context.Context, name, holder string) error {
	if err := im.enter(); err != nil {
		return err
	}
	defer im.leave()
	key := leaseKey(name)
	err := im.leaseUpdate(ctx, func(txn store.Txn) error {
		v, _, found, err := txn.Get(key, nil)
		if err != nil || !found {
			return err
		}
		if h, _, herr := decodeLease(v); herr == nil && h != holder {
			return nil
		}
		return txn.Delete(key)
	})
	if err != nil {
		return fmt.Errorf("uvm: release lease %q: %w", name, err)
	}
	return nil
}

// leaseUpdate runs fn in a store transaction, retrying conflicts: a lost
// race reruns fn, which then sees the winner's lease.
func (im *Image) leaseUpdate(ctx context.Context, fn func(store.Txn) error) error {
	for attempt := 0; ; attempt++ {
		txn, err := im.st.Begin(ctx, true)
		if err != nil {
			return err
		}
		err = fn(txn)
		if err == nil {
			err = txn.Commit()
		}
		txn.Discard()
		if !errors.Is(err, store.ErrConflict) || attempt >= 32 {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

func decodeLease(v []byte) (holder string, expiry int64, err error) {
	i := bytes.IndexByte(v, 0)
	if i < 0 || len(v) != i+9 {
		return "", 0, errors.New("bad lease")
	}
	return string(v[:i]), int64(binary.BigEndian.Uint64(v[i+1:])), nil
}

// Shared reports whether other processes may commit to this image (its
// store is a database they share), so that what a process cached from it
// must follow their commits (see Follow).
func (im *Image) Shared() bool {
	_, ok := im.st.(store.Watcher)
	return ok
}

// ChangeSeq returns the image's change sequence, which moves forward with
// every commit by any process sharing it; for an image only this process
// opens it is 0. A cache stamped with the value read before it was filled
// is stale once it has moved.
func (im *Image) ChangeSeq(ctx context.Context) (uint64, error) {
	w, ok := im.st.(store.Watcher)
	if !ok {
		return 0, nil
	}
	return w.ChangeSeq(ctx)
}

// Follow calls fn with the change sequence whenever a process sharing the
// image has committed (from database notifications; after a lost
// connection, once more to catch up), until ctx ends. A layer that caches
// what it read from the image drops what it cached then. For an image no
// other process shares, Follow returns at once.
func (im *Image) Follow(ctx context.Context, fn func(seq uint64)) error {
	w, ok := im.st.(store.Watcher)
	if !ok {
		return nil
	}
	return w.Watch(ctx, fn)
}

// Lease reads the lease name as this transaction sees it: its holder and
// expiry, and whether it is recorded at all (an expired lease may still
// be). The read is part of the transaction, so an update that read a
// lease conflicts with a commit that took it over meanwhile: a holder
// checks that it still holds its lease in the transaction that does the
// leased work.
func (tx *Tx) Lease(name string) (holder string, expires time.Time, found bool, err error) {
	if err := tx.check(false); err != nil {
		return "", time.Time{}, false, err
	}
	if name == "" {
		return "", time.Time{}, false, &NameError{Name: name, Reason: "a lease needs a name"}
	}
	v, err := tx.get(leaseKey(name))
	if err != nil || v == nil {
		return "", time.Time{}, false, err
	}
	h, exp, derr := decodeLease(v)
	if derr != nil {
		return "", time.Time{}, false, &CorruptError{Key: printableKey(leaseKey(name)), Reason: "unreadable lease"}
	}
	return h, time.Unix(0, exp), true, nil
}
