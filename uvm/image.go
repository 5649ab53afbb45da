package uvm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/batos-dev/batos/uvm/store"
	"github.com/batos-dev/batos/uvm/store/badgerstore"
	"github.com/batos-dev/batos/uvm/store/pgstore"
	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// Options configure an Image. The zero value means the defaults that
// DefaultOptions documents.
type Options struct {
	// InMemory keeps the image in memory only (for tests); dir must be "".
	InMemory bool
	// NoSync turns off the fsync of every commit. The default (false) makes
	// each commit durable before Update returns; concurrent commits share
	// their syncs (see Durability in the package documentation).
	NoSync bool
	// Logger receives conflict retries and Badger's own messages. Nil discards.
	Logger *slog.Logger
	// MaxRetries bounds how often Update reruns its function after a Badger
	// conflict. Zero means 8; a negative value means no retry.
	MaxRetries int
	// RetryBackoff is the first backoff after a conflict; it doubles each
	// retry, with jitter. Zero means 1ms.
	RetryBackoff time.Duration
	// MaxSendDepth bounds nested message sends in one transaction. Zero means 512.
	MaxSendDepth int
	// MemTableSize is Badger's memtable size in bytes, which also bounds the
	// size of one transaction (about 15% of it). Zero means 32 MiB.
	MemTableSize int64
	// Runner runs methods stored as source. Nil makes such sends fail with ErrNoRunner.
	Runner MethodRunner
	// DoesNotUnderstand receives messages nothing answers. Nil makes them
	// fail with ErrNotUnderstood.
	DoesNotUnderstand DoesNotUnderstand
}

// DefaultOptions returns the options with every default filled in.
func DefaultOptions() Options {
	var o Options
	o.fill()
	return o
}

func (o *Options) fill() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = 8
	}
	if o.MaxRetries < 0 {
		o.MaxRetries = 0
	}
	if o.RetryBackoff == 0 {
		o.RetryBackoff = time.Millisecond
	}
	if o.MaxSendDepth == 0 {
		o.MaxSendDepth = 512
	}
	if o.MemTableSize == 0 {
		o.MemTableSize = 32 << 20
	}
}

// Image is a persistent store of prototype objects on Badger (or another
// store.Store, see OpenStore). It is safe for concurrent use; each
// transaction is not.
type Image struct {
	st   store.Store
	db   *badger.DB // the Badger database under st, nil for another store
	opts Options
	dir  string

	seqMu sync.Mutex
	seq   store.Sequence

	primMu     sync.RWMutex
	primitives map[string]PrimitiveFunc

	buckets bucketCache // decoded method buckets

	durable *groupSync // nil when commits are not synced (NoSync, InMemory)

	// Close waits for running operations (inflight) to end; an operation
	// started after Close began gets ErrClosed. A plain RWMutex would
	// deadlock a transaction that opens a nested one while Close waits.
	mu       sync.Mutex
	idle     *sync.Cond
	inflight int
	closed   bool
}

func (im *Image) enter() error {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.closed {
		return ErrClosed
	}
	im.inflight++
	return nil
}

func (im *Image) leave() {
	im.mu.Lock()
	im.inflight--
	if im.inflight == 0 {
		im.idle.Broadcast()
	}
	im.mu.Unlock()
}

// Open opens the image in dir, creating it if needed. With opts.InMemory,
// dir must be empty. A second Open of the same directory, from this or any
// other process, fails with ErrLocked.
//
// Before Badger reads them, Open checks the image's files: every block of
// every table against its checksum, and the logs' headers and entries. A
// damaged file fails Open with a *CorruptImageError (errors.Is
// ErrCorruptImage) naming it; [Salvage] copies what is still readable into
// a new image.
//
// dir may instead be a PostgreSQL location (postgres://… or
// postgresql://…, see package pgstore): the image is then kept in that
// database, shared with every other process that opens it, and
// InMemory, NoSync and MemTableSize do not apply.
func Open(dir string, opts Options) (*Image, error) {
	opts.fill()
	if pgstore.IsLocation(dir) {
		st, err := pgstore.Open(context.Background(), dir)
		if err != nil {
			return nil, fmt.Errorf("uvm: open: %w", err)
		}
		return openStore(st, opts, "", nil)
	}
	if opts.InMemory && dir != "" {
		return nil, fmt.Errorf("uvm: open: an in-memory image takes no directory (got %q)", dir)
	}
	if !opts.InMemory && dir == "" {
		return nil, errors.New("uvm: open: no directory given (set Options.InMemory for a memory-only image)")
	}
	if !opts.InMemory {
		release, err := holdShared(dir)
		if err != nil {
			return nil, err
		}
		err = checkFiles(dir, opts.Logger)
		release()
		if err != nil {
			return nil, err
		}
	}
	bo := badger.DefaultOptions(dir).
		WithInMemory(opts.InMemory).
		WithSyncWrites(false). // commits are synced in groups (groupsync.go)
		WithValueThreshold(valueThreshold).
		WithLogger(badgerLogger{opts.Logger}).
		WithMemTableSize(opts.MemTableSize).
		WithNumVersionsToKeep(1).
		WithMetricsEnabled(false).
		WithVerifyValueChecksum(true). // a damaged .vlog entry is an error, not a wrong value
		WithCompression(options.None). // values are small and checksummed; no per-block decode
		WithBlockCacheSize(0)          // blocks are read from the mmap; the OS page cache is the cache
	if opts.InMemory {
		bo = bo.WithDir("").WithValueDir("")
	}
	st, err := badgerstore.Open(bo)
	if err != nil && strings.Contains(err.Error(), "err: Create a new file") {
		// A crash between creating a log file and sizing it leaves a file
		// of 0 bytes, which Badger refuses once (z.NewFile, wrapped as
		// text) after sizing it; the second attempt opens.
		// dgraph-io/badger#2207.
		opts.Logger.Warn("uvm: open: retrying after an empty log file left by a crash", slog.String("error", err.Error()))
		st, err = badgerstore.Open(bo)
	}
	if err != nil {
		if strings.Contains(err.Error(), "directory lock") {
			return nil, fmt.Errorf("%w: %s: %v", ErrLocked, dir, err)
		}
		if cerr := badgerDamage(dir, err); cerr != nil {
			return nil, cerr
		}
		return nil, fmt.Errorf("uvm: open %s: %w", dir, err)
	}
	var durable *groupSync
	if !opts.NoSync && !opts.InMemory {
		durable = newGroupSync(newLogSyncer(dir).sync)
	}
	im, err := openStore(st, opts, dir, durable)
	if err != nil {
		return nil, err
	}
	im.db = st.DB()
	return im, nil
}

// OpenStore opens an image kept in st, such as a PostgreSQL database
// opened with package pgstore, creating it if st is empty. The image owns
// st from then on: Close closes it, and so does a failed OpenStore.
// Options.InMemory, NoSync and MemTableSize are the store's business and
// are ignored here (MemTableSize still bounds how many blob chunks go in
// one transaction).
func OpenStore(st store.Store, opts Options) (*Image, error) {
	opts.fill()
	return openStore(st, opts, "", nil)
}

func openStore(st store.Store, opts Options, dir string, durable *groupSync) (*Image, error) {
	im := &Image{st: st, opts: opts, dir: dir, primitives: map[string]PrimitiveFunc{}, durable: durable}
	im.idle = sync.NewCond(&im.mu)
	if err := im.checkFormat(); err != nil {
		st.Close()
		return nil, err
	}
	var err error
	if im.seq, err = st.Sequence(keyOIDSeq, 256); err != nil {
		st.Close()
		return nil, fmt.Errorf("uvm: open %s: oid sequence: %w", dir, err)
	}
	return im, nil
}

// storeUpdate runs fn in a store transaction of its own and commits it,
// retrying conflicts (two kernels opening one new image at once).
func (im *Image) storeUpdate(fn func(store.Txn) error) error {
	for attempt := 0; ; attempt++ {
		txn, err := im.st.Begin(context.Background(), true)
		if err != nil {
			return err
		}
		err = fn(txn)
		if err == nil {
			err = txn.Commit()
		}
		txn.Discard()
		if !errors.Is(err, store.ErrConflict) || attempt >= 8 {
			return err
		}
	}
}

func (im *Image) checkFormat() error {
	return im.storeUpdate(func(txn store.Txn) error {
		v, _, found, err := txn.Get(keyFormat, nil)
		if err != nil {
			return fmt.Errorf("uvm: open: read format: %w", err)
		}
		if !found {
			return txn.Set(keyFormat, []byte{imageLayout})
		}
		if len(v) != 1 {
			return &CorruptError{Key: printableKey(keyFormat), Reason: "bad format marker"}
		}
		if v[0] > imageLayout {
			return fmt.Errorf("%w: image format %d, this library reads up to %d", ErrFormat, v[0], imageLayout)
		}
		if v[0] < imageLayout {
			// Older layouts are read as they are; objects move to the
			// current one as they are written. Mark the image so that an
			// older library refuses it from now on.
			return txn.Set(keyFormat, []byte{imageLayout})
		}
		return nil
	})
}

// Close releases the OID lease and closes the store. It waits for running
// transactions to end. Closing twice is not an error.
func (im *Image) Close() error {
	im.mu.Lock()
	if im.closed {
		im.mu.Unlock()
		return nil
	}
	im.closed = true
	for im.inflight > 0 {
		im.idle.Wait()
	}
	im.mu.Unlock()
	var errs []error
	if im.seq != nil {
		errs = append(errs, im.seq.Release())
	}
	errs = append(errs, im.st.Close(), im.durable.failed())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("uvm: close: %w", err)
	}
	return nil
}

// Dir reports the directory of an on-disk image ("" in memory or in
// another store).
func (im *Image) Dir() string { return im.dir }

// Options returns the options the image was opened with, defaults filled in.
func (im *Image) Options() Options { return im.opts }

func (im *Image) nextOID() (OID, error) {
	im.seqMu.Lock()
	defer im.seqMu.Unlock()
	for {
		n, err := im.seq.Next()
		if err != nil {
			return 0, fmt.Errorf("uvm: allocate oid: %w", err)
		}
		if n != 0 { // OID 0 means "no object"
			return OID(n), nil
		}
	}
}

// View runs fn in a read-only transaction. Objects read in it reflect one
// consistent snapshot. A write returns ErrReadOnly.
//
// A transaction marked with Tx.Restart runs fn again on a fresh snapshot.
func (im *Image) View(ctx context.Context, fn func(*Tx) error) error {
	for restarts := 0; ; restarts++ {
		err := im.run(ctx, false, fn)
		if !errors.Is(err, ErrRestart) || restarts >= MaxRestarts {
			return err
		}
	}
}

// MaxRestarts bounds how many times View or Update run a function again
// because its transaction was marked with Tx.Restart; past it, the error
// wrapping ErrRestart is returned. A hook that restarts after each
// install makes a function that sends many new messages in turn restart
// once per message; the bound only stops a hook that restarts without
// making progress.
const MaxRestarts = 32

// Update runs fn in a read-write transaction and commits when fn returns
// nil; when fn returns an error or panics, everything it did is discarded.
//
// When the commit conflicts with a concurrent one (both read and one wrote
// the same object), fn runs again on a fresh snapshot, up to
// Options.MaxRetries times with exponential backoff and jitter; fn must
// therefore not have effects outside the transaction that cannot be repeated.
// After the last retry the error wraps ErrConflict. A transaction marked
// with Tx.Restart runs again at once; that is not counted as a retry.
func (im *Image) Update(ctx context.Context, fn func(*Tx) error) error {
	backoff := im.opts.RetryBackoff
	restarts := 0
	for attempt := 0; ; attempt++ {
		err := im.run(ctx, true, fn)
		if errors.Is(err, ErrRestart) && restarts < MaxRestarts {
			restarts++
			attempt--
			continue
		}
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
		if attempt >= im.opts.MaxRetries {
			return fmt.Errorf("%w after %d attempts: %v", ErrConflict, attempt+1, err)
		}
		if attempt == 0 {
			continue // the first retry is immediate: most conflicts are one-off
		}
		sleep := backoff + rand.N(backoff)
		im.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "uvm: commit conflict, retrying",
			slog.Int("attempt", attempt+1), slog.Duration("backoff", sleep))
		select {
		case <-ctx.Done():
			return fmt.Errorf("uvm: update: %w (while retrying a conflict)", ctx.Err())
		case <-time.After(sleep):
		}
		backoff *= 2
	}
}

func (im *Image) run(ctx context.Context, update bool, fn func(*Tx) error) (err error) {
	if err := im.enter(); err != nil {
		return err
	}
	defer im.leave()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("uvm: transaction not started: %w", err)
	}
	txn, err := im.st.Begin(ctx, update)
	if err != nil {
		return fmt.Errorf("uvm: transaction not started: %w", err)
	}
	tx := newTx(im, txn, update)
	defer tx.end()
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: describePanic(r), Stack: string(debug.Stack())}
		}
	}()
	err = fn(tx)
	if tx.restart != nil {
		return tx.restart
	}
	if err != nil {
		return err
	}
	if tx.readErr != nil {
		return tx.readErr
	}
	if !update {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("uvm: commit abandoned: %w", err)
	}
	return tx.commit()
}

// describePanic renders a panic value without calling methods a stranger wrote.
func describePanic(r any) string {
	switch v := r.(type) {
	case string:
		return v
	case error:
		// Errors raised by the Go runtime are safe to print; others may run foreign code.
		if _, ok := v.(interface{ RuntimeError() }); ok {
			return v.Error()
		}
		return fmt.Sprintf("error of type %T", v)
	case int, int64, float64, bool:
		return fmt.Sprint(v)
	default:
		return fmt.Sprintf("value of type %T", v)
	}
}

// badgerLogger adapts slog to Badger's logger interface.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) { b.l.Error("badger: " + fmt.Sprintf(f, a...)) }
func (b badgerLogger) Warningf(f string, a ...any) {
	b.l.Warn("badger: " + fmt.Sprintf(f, a...))
}
func (b badgerLogger) Infof(f string, a ...any)  { b.l.Debug("badger: " + fmt.Sprintf(f, a...)) }
func (b badgerLogger) Debugf(f string, a ...any) { b.l.Debug("badger: " + fmt.Sprintf(f, a...)) }

// Fingerprint returns a SHA-256, in hex, over every key and value of the
// image in key order, except the OID sequence's lease marker. Two images
// with the same fingerprint hold the same objects, roots, method versions,
// records and blobs byte for byte; tests use it to prove that a failed
// operation left the image unchanged.
//
// Records of the namespaces in exclude are left out, so that a test can
// prove a failed operation changed nothing but its own audit trail.
func (im *Image) Fingerprint(ctx context.Context, exclude ...string) (string, error) {
	skip := make([][]byte, len(exclude))
	for i, ns := range exclude {
		skip[i] = recordKey(ns, "")
	}
	if err := im.enter(); err != nil {
		return "", err
	}
	defer im.leave()
	h := sha256.New()
	err := im.scanAll(ctx, func(k, v []byte) error {
		if bytes.Equal(k, keyOIDSeq) || hasAnyPrefix(k, skip) {
			return nil
		}
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(k)))
		h.Write(n[:])
		h.Write(k)
		binary.LittleEndian.PutUint64(n[:], uint64(len(v)))
		h.Write(n[:])
		h.Write(v)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("uvm: fingerprint: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hasAnyPrefix(k []byte, prefixes [][]byte) bool {
	for _, p := range prefixes {
		if bytes.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// scanAll calls fn with every key and value of the store in key order, in
// one read-only snapshot.
func (im *Image) scanAll(ctx context.Context, fn func(k, v []byte) error) error {
	txn, err := im.st.Begin(ctx, false)
	if err != nil {
		return err
	}
	defer txn.Discard()
	i := 0
	return scanErr(txn.Scan(nil, true, func(k, v []byte) error {
		if i++; i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		return fn(k, v)
	}))
}

// scanErr turns a store's failure to read a value in a scan into uvm's
// read error for the key.
func scanErr(err error) error {
	if re, ok := errors.AsType[*badgerstore.ReadError](err); ok {
		return readError(re.Key, re.Err)
	}
	return err
}
