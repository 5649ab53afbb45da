// Package badgerstore implements package store on an embedded Badger
// database: uvm's default store. Badger's own errors are returned wrapped
// (uvm reads some of their words to name damaged files); a commit
// conflict also wraps store.ErrConflict.
package badgerstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/batos-dev/batos/uvm/store"
	"github.com/dgraph-io/badger/v4"
)

// Store is a store.Store on a Badger database.
type Store struct {
	db *badger.DB
}

var _ store.Store = (*Store)(nil)

// Open opens a Badger database with opts.
func Open(opts badger.Options) (*Store, error) {
	db, err := badger.Open(opts)
	if err != nil {
		return nil, err
	}
	return &Store{db: db}, nil
}

// New wraps a database already open; Close closes it.
func New(db *badger.DB) *Store { return &Store{db: db} }

// DB returns the Badger database, for what only Badger can do (reading
// its files, tests that write beneath uvm).
func (s *Store) DB() *badger.DB { return s.db }

// Begin implements store.Store.
func (s *Store) Begin(_ context.Context, update bool) (store.Txn, error) {
	return &txn{t: s.db.NewTransaction(update), update: update}, nil
}

// Close implements store.Store.
func (s *Store) Close() error { return s.db.Close() }

// Sequence implements store.Store with Badger's own sequences.
func (s *Store) Sequence(key []byte, lease uint64) (store.Sequence, error) {
	return s.db.GetSequence(key, lease)
}

// NewBatch implements store.Store with a Badger write batch.
func (s *Store) NewBatch() store.Batch { return s.db.NewWriteBatch() }

type txn struct {
	t      *badger.Txn
	update bool
}

func (t *txn) Get(key []byte, skip func(uint64) bool) ([]byte, uint64, bool, error) {
	item, err := t.t.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, err
	}
	ver := item.Version()
	if skip != nil && skip(ver) {
		return nil, ver, true, nil
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return nil, 0, false, err
	}
	if v == nil {
		v = []byte{}
	}
	return v, ver, true, nil
}

func (t *txn) Set(key, val []byte) error {
	if !t.update {
		return store.ErrReadOnly
	}
	return t.t.Set(key, val)
}

func (t *txn) Delete(key []byte) error {
	if !t.update {
		return store.ErrReadOnly
	}
	return t.t.Delete(key)
}

func (t *txn) Scan(prefix []byte, values bool, fn func(key, val []byte) error) error {
	it := t.t.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: values, PrefetchSize: 100})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		var v []byte
		if values {
			var err error
			if v, err = item.ValueCopy(nil); err != nil {
				return &ReadError{Key: item.KeyCopy(nil), Err: err}
			}
			if v == nil {
				v = []byte{}
			}
		}
		if err := fn(item.Key(), v); err != nil {
			return err
		}
	}
	return nil
}

func (t *txn) Commit() error {
	err := t.t.Commit()
	if errors.Is(err, badger.ErrConflict) {
		return fmt.Errorf("%w: %w", store.ErrConflict, err)
	}
	return err
}

func (t *txn) Discard() { t.t.Discard() }

// ReadError is a failure to read a key's value during a scan.
type ReadError struct {
	Key []byte
	Err error
}

func (e *ReadError) Error() string { return fmt.Sprintf("badgerstore: read %q: %v", e.Key, e.Err) }

func (e *ReadError) Unwrap() error { return e.Err }
