// Package store is the interface between a uvm image and the
// transactional key-value engine that keeps it: transactions with get,
// set, delete and ordered prefix scans, committed whole with optimistic
// conflict detection, and per-key versions that a reader may use as cache
// keys. Package badgerstore implements it on an embedded Badger database
// (uvm's default), package pgstore on PostgreSQL; package storetest is the
// conformance suite every implementation passes.
package store

import (
	"context"
	"errors"
)

// ErrConflict is returned (wrapped) by Txn.Commit when a concurrent
// transaction committed a change to something this one read or wrote. The
// caller runs its work again on a fresh transaction.
var ErrConflict = errors.New("store: transaction conflict")

// ErrReadOnly is returned by a write in a read-only transaction.
var ErrReadOnly = errors.New("store: write in a read-only transaction")

// Store is a transactional, ordered key-value store. It is safe for
// concurrent use; each Txn is not.
type Store interface {
	// Begin starts a transaction: a consistent snapshot plus its own
	// writes, visible to others only once Commit returns nil. A read-only
	// transaction (update false) refuses writes with ErrReadOnly.
	Begin(ctx context.Context, update bool) (Txn, error)
	// Sequence returns a counter kept under key as an 8-byte big-endian
	// number: the next value not yet handed out by any holder. Next hands
	// out values leased in blocks of lease, so that values are never
	// handed out twice, even by several processes, and a crash loses at
	// most the rest of a block.
	Sequence(key []byte, lease uint64) (Sequence, error)
	// NewBatch starts a bulk load: writes applied without the size limit
	// of a transaction, for restoring an image into an empty store.
	NewBatch() Batch
	// Close releases the store. Transactions must have ended.
	Close() error
}

// Txn is one transaction. Keys and values handed to Set are owned by the
// transaction from then on; slices it returns are the caller's, except
// those handed to a Scan callback, which are valid only during the call.
type Txn interface {
	// Get reads key. found is false when it is absent. version identifies
	// this key's committed value: a key's value never changes under one
	// version, so version works as a cache key; 0 means "no version" (a
	// value written in this transaction), not to be cached. When skip is
	// non-nil and returns true for the version, the value is not read and
	// val is nil. A present but empty value is a non-nil empty slice.
	Get(key []byte, skip func(version uint64) bool) (val []byte, version uint64, found bool, err error)
	// Set writes key. The read that conflict detection needs is the
	// caller's: a key read in the transaction and changed by another
	// commit makes Commit fail with ErrConflict.
	Set(key, val []byte) error
	// Delete removes key; removing an absent key is not an error.
	Delete(key []byte) error
	// Scan calls fn for every key starting with prefix, in byte order,
	// seeing this transaction's own writes. With values false, val is nil.
	// key and val are valid only during the call. An error from fn stops
	// the scan and is returned as it is.
	Scan(prefix []byte, values bool, fn func(key, val []byte) error) error
	// Commit makes the writes durable and visible, or fails (a conflict
	// wraps ErrConflict) leaving nothing.
	Commit() error
	// Discard ends the transaction; after Commit it does nothing. It is
	// safe to call more than once.
	Discard()
}

// Prefetcher is implemented by a Txn for which one read is a round trip
// to a server: Prefetch reads every key under each prefix in one go, so
// that the Gets that follow are answered from the transaction's snapshot
// without another trip.
type Prefetcher interface {
	Prefetch(prefixes ...[]byte) error
}

// Parker is implemented by a Txn that holds a scarce resource (a server
// connection) for as long as it is open. Park gives the resource back
// while the caller waits for other transactions (a send whose receiver
// does not understand it, waiting for the cycle that writes the method);
// the next read or the commit takes one again. It stays one transaction:
// its commit fails with ErrConflict if anything it read before Park has
// changed since. Park reports false, and keeps the resource, when it
// cannot keep that promise (a read-only transaction, or one that scanned
// a range it could not check again).
type Parker interface {
	Park() bool
}

// SyncDeferrer is implemented by a Txn whose commit can return before it
// is durable (uvm.Tx.DeferSync): DeferSync asks for that, for this
// transaction only. A later commit that is durable makes it durable too.
type SyncDeferrer interface {
	DeferSync()
}

// Sequence hands out increasing numbers.
type Sequence interface {
	// Next returns the next number.
	Next() (uint64, error)
	// Release gives back what is left of the leased block when no other
	// holder has leased since, and ends the sequence.
	Release() error
}

// Batch is a bulk load into a store.
type Batch interface {
	// Set writes key; the batch owns key and val from then on.
	Set(key, val []byte) error
	// Flush applies what is left and ends the batch.
	Flush() error
	// Cancel ends the batch; after Flush it does nothing.
	Cancel()
}

// PrefixEnd returns the smallest key greater than every key starting with
// prefix, or nil when there is none (an empty prefix or one of all 0xff).
func PrefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// Watcher is implemented by a store that other processes write to: it
// tells a process when to drop what it cached from the store.
type Watcher interface {
	// ChangeSeq returns the change sequence: a number that moves forward
	// with every commit that writes, by any process, once the commit is
	// done (before it is acknowledged), so that a transaction begun after
	// reading a value sees every commit the value counts.
	ChangeSeq(ctx context.Context) (uint64, error)
	// Watch calls fn with the change sequence after commits by any
	// process (including a first call on start, and after any
	// reconnection, to catch up on missed ones), until ctx ends.
	Watch(ctx context.Context, fn func(seq uint64)) error
}
