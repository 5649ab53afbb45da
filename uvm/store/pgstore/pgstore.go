package pgstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/batos-dev/batos/uvm/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// SchemaVersion is the version of the tables this package writes.
const SchemaVersion = 1

// ErrSchema is returned by Open when the database holds batos tables of a
// newer schema than this package knows.
var ErrSchema = errors.New("pgstore: database schema is newer than this library")

// IsLocation reports whether loc names a PostgreSQL database
// (postgres:// or postgresql://) rather than a directory.
func IsLocation(loc string) bool {
	return strings.HasPrefix(loc, "postgres://") || strings.HasPrefix(loc, "postgresql://")
}

// Store is a store.Store on a PostgreSQL database.
type Store struct {
	pool *pgxpool.Pool
}

var _ store.Store = (*Store)(nil)

var schema = []string{
	`CREATE TABLE IF NOT EXISTS batos_meta (name TEXT PRIMARY KEY, value BIGINT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS batos_kv (k BYTEA PRIMARY KEY, v BYTEA NOT NULL, ver BIGINT NOT NULL)`,
	`CREATE SEQUENCE IF NOT EXISTS batos_ver`,
	`CREATE SEQUENCE IF NOT EXISTS batos_commit`,
	`INSERT INTO batos_meta (name, value) VALUES ('schema', 1) ON CONFLICT (name) DO NOTHING`,
}

// DefaultMaxConns is the size of a Store's connection pool when its URL
// sets none (pool_max_conns): enough for a kernel's senders and the
// cycles they wait for, well under PostgreSQL's default of 100
// connections for a few kernels.
const DefaultMaxConns = 24

// Open connects to the database at url (a postgres:// URL or a
// key=value connection string) and creates the batos tables if missing.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("pgstore: open: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: open: %w", err)
	}
	s := &Store{pool: pool}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	var err error
	for range 5 { // two kernels creating the tables at once: one loses, then finds them
		if err = s.createSchema(ctx); err == nil || !retryable(err) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("pgstore: open: create schema: %w", err)
	}
	var v int64
	if err := s.pool.QueryRow(ctx, `SELECT value FROM batos_meta WHERE name = 'schema'`).Scan(&v); err != nil {
		return fmt.Errorf("pgstore: open: read schema version: %w", err)
	}
	if v > SchemaVersion {
		return fmt.Errorf("%w: version %d, this library knows up to %d", ErrSchema, v, SchemaVersion)
	}
	return nil
}

func (s *Store) createSchema(ctx context.Context) error {
	for _, q := range schema {
		if _, err := s.pool.Exec(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// retryable: a serialization failure, a deadlock, or a lost race to
// create the same catalog entry.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01" || pe.Code == "23505" || pe.Code == "42P07")
}

// Pool returns the connection pool, for what the store interface does not
// cover (notifications, leases, benchmarks).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close implements store.Store.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// mapErr makes a serialization failure or deadlock a store.ErrConflict.
func mapErr(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01") {
		return fmt.Errorf("%w: %w", store.ErrConflict, err)
	}
	return err
}

// Begin implements store.Store. No statement is sent yet: BEGIN goes with
// the first read, or with the writes and COMMIT.
//
// A transaction takes a connection from the pool at its first query and
// holds it until it ends or parks (store.Parker). The pool's size is the
// URL's pool_max_conns (DefaultMaxConns when it names none).
func (s *Store) Begin(ctx context.Context, update bool) (store.Txn, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: begin: %w", err)
	}
	return &txn{ctx: ctx, pool: s.pool, update: update, reads: map[string]entry{}}, nil
}

type entry struct {
	v     []byte
	ver   uint64
	found bool
}

type write struct {
	v   []byte
	del bool
}

type txn struct {
	ctx     context.Context
	pool    *pgxpool.Pool
	conn    *pgxpool.Conn // nil before the first query and while parked
	update  bool
	begun   bool // BEGIN sent
	done    bool
	reads   map[string]entry
	fetched [][]byte // prefixes read whole into reads
	writes  map[string]write
	scanned bool // a Scan ran: Park cannot check its range again
	parked  bool // reads happened in an earlier server transaction: check them at commit
	lazy    bool // DeferSync: commit with synchronous_commit off
}

// DeferSync implements store.SyncDeferrer: the commit does not wait for
// the server to flush its WAL (synchronous_commit off for this
// transaction). The server flushes WAL in order, so any later commit that
// waits makes this one durable too.
func (t *txn) DeferSync() { t.lazy = true }

// acquire takes a connection for the transaction if it has none.
func (t *txn) acquire() error {
	if t.conn != nil {
		return nil
	}
	conn, err := t.pool.Acquire(t.ctx)
	if err != nil {
		return fmt.Errorf("pgstore: connection: %w", err)
	}
	t.conn = conn
	return nil
}

// Park implements store.Parker: it rolls the server transaction back and
// returns its connection to the pool. Writes are kept in the transaction
// (they are sent at commit anyway), and reads are checked again at commit.
func (t *txn) Park() bool {
	if t.done || !t.update || t.scanned {
		return false
	}
	if t.conn == nil {
		return true
	}
	if t.begun {
		if _, err := t.conn.Exec(context.WithoutCancel(t.ctx), "ROLLBACK"); err != nil {
			t.conn.Conn().Close(context.Background())
		}
		t.begun = false
		t.parked = t.parked || len(t.reads) > 0
	}
	t.conn.Release()
	t.conn = nil
	return true
}

// recheck runs, in the current server transaction, the reads made before
// the transaction parked, and fails with store.ErrConflict if any of them
// would now read differently: a key's version, its presence, or the keys
// under a prefix read whole.
func (t *txn) recheck() error {
	var keys [][]byte
	for k := range t.reads {
		if !t.prefetched([]byte(k)) {
			keys = append(keys, []byte(k))
		}
	}
	changed := func(k string) error {
		return fmt.Errorf("%w: %q changed while the transaction was parked", store.ErrConflict, k)
	}
	if len(keys) > 0 {
		now := map[string]uint64{}
		err := t.query(func(r pgx.Rows) error {
			var k []byte
			var ver uint64
			if err := r.Scan(&k, &ver); err != nil {
				return err
			}
			now[string(k)] = ver
			return nil
		}, `SELECT k, ver FROM batos_kv WHERE k = ANY($1)`, keys)
		if err != nil {
			return err
		}
		for _, k := range keys {
			e := t.reads[string(k)]
			ver, found := now[string(k)]
			if found != e.found || (found && ver != e.ver) {
				return changed(string(k))
			}
		}
	}
	for _, p := range t.fetched {
		var n int
		var bad string
		cond, args := "k >= $1", []any{p}
		if end := store.PrefixEnd(p); end != nil {
			cond, args = cond+" AND k < $2", append(args, end)
		}
		err := t.query(func(r pgx.Rows) error {
			var k []byte
			var ver uint64
			if err := r.Scan(&k, &ver); err != nil {
				return err
			}
			n++
			if e, ok := t.reads[string(k)]; (!ok || !e.found || e.ver != ver) && bad == "" {
				bad = string(k)
			}
			return nil
		}, `SELECT k, ver FROM batos_kv WHERE `+cond, args...)
		if err != nil {
			return err
		}
		if bad != "" {
			return changed(bad)
		}
		had := 0
		for k, e := range t.reads {
			if e.found && bytes.HasPrefix([]byte(k), p) {
				had++
			}
		}
		if had != n {
			return changed(string(p) + "…")
		}
	}
	t.parked = false
	return nil
}

func (t *txn) beginSQL() string {
	if t.update {
		return "BEGIN ISOLATION LEVEL SERIALIZABLE"
	}
	return "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY"
}

// query runs one query in the transaction (sending BEGIN with it if not
// sent yet) and hands each row to fn.
func (t *txn) query(fn func(pgx.Rows) error, sql string, args ...any) error {
	if t.done {
		return errors.New("pgstore: transaction ended")
	}
	if err := t.acquire(); err != nil {
		return err
	}
	b := &pgx.Batch{}
	first := !t.begun
	if first {
		b.Queue(t.beginSQL())
	}
	b.Queue(sql, args...)
	br := t.conn.SendBatch(t.ctx, b)
	if first {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return mapErr(err)
		}
		t.begun = true
	}
	rows, err := br.Query()
	if err == nil {
		for rows.Next() {
			if err = fn(rows); err != nil {
				break
			}
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return mapErr(err)
}

func (t *txn) Get(key []byte, skip func(uint64) bool) ([]byte, uint64, bool, error) {
	if w, ok := t.writes[string(key)]; ok {
		if w.del {
			return nil, 0, false, nil
		}
		return bytes.Clone(w.v), 0, true, nil
	}
	e, ok := t.reads[string(key)]
	if !ok && !t.prefetched(key) {
		err := t.query(func(r pgx.Rows) error {
			e.found = true
			return r.Scan(&e.v, &e.ver)
		}, `SELECT v, ver FROM batos_kv WHERE k = $1`, key)
		if err != nil {
			return nil, 0, false, err
		}
		if e.found && e.v == nil {
			e.v = []byte{}
		}
		t.reads[string(key)] = e
	}
	if !e.found {
		return nil, 0, false, nil
	}
	if skip != nil && skip(e.ver) {
		return nil, e.ver, true, nil
	}
	return bytes.Clone(e.v), e.ver, true, nil
}

func (t *txn) prefetched(key []byte) bool {
	for _, p := range t.fetched {
		if bytes.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// Prefetch implements store.Prefetcher: one query for every prefix.
func (t *txn) Prefetch(prefixes ...[]byte) error {
	var where []string
	var args []any
	var want [][]byte
	for _, p := range prefixes {
		if t.prefetched(p) {
			continue
		}
		want = append(want, p)
		cond := fmt.Sprintf("k >= $%d", len(args)+1)
		args = append(args, p)
		if end := store.PrefixEnd(p); end != nil {
			cond += fmt.Sprintf(" AND k < $%d", len(args)+1)
			args = append(args, end)
		}
		where = append(where, "("+cond+")")
	}
	if len(want) == 0 {
		return nil
	}
	err := t.query(func(r pgx.Rows) error {
		var k []byte
		e := entry{found: true}
		if err := r.Scan(&k, &e.v, &e.ver); err != nil {
			return err
		}
		if e.v == nil {
			e.v = []byte{}
		}
		t.reads[string(k)] = e
		return nil
	}, `SELECT k, v, ver FROM batos_kv WHERE `+strings.Join(where, " OR "), args...)
	if err != nil {
		return err
	}
	t.fetched = append(t.fetched, want...)
	return nil
}

func (t *txn) Set(key, val []byte) error {
	if !t.update {
		return store.ErrReadOnly
	}
	if t.writes == nil {
		t.writes = map[string]write{}
	}
	if val == nil {
		val = []byte{}
	}
	t.writes[string(key)] = write{v: val}
	return nil
}

func (t *txn) Delete(key []byte) error {
	if !t.update {
		return store.ErrReadOnly
	}
	if t.writes == nil {
		t.writes = map[string]write{}
	}
	t.writes[string(key)] = write{del: true}
	return nil
}

// scanPage is how many rows one scan query reads.
const scanPage = 512

func (t *txn) Scan(prefix []byte, values bool, fn func(key, val []byte) error) error {
	t.scanned = true
	end := store.PrefixEnd(prefix)
	cols := "k, NULL::bytea"
	if values {
		cols = "k, v"
	}
	// This transaction's own writes under prefix, in key order, merged in.
	var mine []string
	for k := range t.writes {
		if strings.HasPrefix(k, string(prefix)) {
			mine = append(mine, k)
		}
	}
	slices.Sort(mine)
	emitMine := func(upTo string, all bool) error {
		for len(mine) > 0 && (all || mine[0] < upTo) {
			k := mine[0]
			mine = mine[1:]
			w := t.writes[k]
			if w.del {
				continue
			}
			var v []byte
			if values {
				v = w.v
			}
			if err := fn([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	}
	type kv struct{ k, v []byte }
	from, incl := prefix, true
	if from == nil {
		from = []byte{} // nil is NULL, which no key is >= to
	}
	for {
		sql := "SELECT " + cols + " FROM batos_kv WHERE k >= $1"
		if !incl {
			sql = "SELECT " + cols + " FROM batos_kv WHERE k > $1"
		}
		args := []any{from}
		if end != nil {
			sql += " AND k < $2"
			args = append(args, end)
		}
		sql += fmt.Sprintf(" ORDER BY k LIMIT %d", scanPage)
		var page []kv
		err := t.query(func(r pgx.Rows) error {
			var e kv
			if err := r.Scan(&e.k, &e.v); err != nil {
				return err
			}
			page = append(page, e)
			return nil
		}, sql, args...)
		if err != nil {
			return err
		}
		for _, e := range page {
			if err := emitMine(string(e.k), false); err != nil {
				return err
			}
			if _, ok := t.writes[string(e.k)]; ok {
				continue // emitted (or deleted) from the writes
			}
			v := e.v
			if values && v == nil {
				v = []byte{}
			}
			if err := fn(e.k, v); err != nil {
				return err
			}
		}
		if len(page) < scanPage {
			return emitMine("", true)
		}
		from, incl = page[len(page)-1].k, false
	}
}

const upsertSQL = `INSERT INTO batos_kv (k, v, ver) VALUES ($1, $2, nextval('batos_ver')) ON CONFLICT (k) DO UPDATE SET v = excluded.v, ver = excluded.ver`

func (t *txn) Commit() error {
	if t.done {
		return errors.New("pgstore: transaction ended")
	}
	if len(t.writes) == 0 {
		var err error
		if t.begun {
			_, err = t.conn.Exec(t.ctx, "COMMIT")
		}
		t.finish(err == nil)
		return mapErr(err)
	}
	if t.parked {
		if err := t.recheck(); err != nil {
			t.finish(false)
			return fmt.Errorf("pgstore: commit: %w", mapErr(err))
		}
	}
	if err := t.acquire(); err != nil {
		t.finish(false)
		return err
	}
	b := &pgx.Batch{}
	if !t.begun {
		b.Queue(t.beginSQL())
	}
	for _, k := range slices.Sorted(maps.Keys(t.writes)) { // one lock order for every writer
		if w := t.writes[k]; w.del {
			b.Queue(`DELETE FROM batos_kv WHERE k = $1`, []byte(k))
		} else {
			b.Queue(upsertSQL, []byte(k), w.v)
		}
	}
	if t.lazy {
		b.Queue("SET LOCAL synchronous_commit TO off")
	}
	b.Queue("COMMIT")
	// The change sequence moves once the commit is done (in a statement of
	// its own, which a failed COMMIT skips, in the same round trip), so
	// that whoever reads its new value also sees the commit: a cache
	// stamped with the value read before it was filled is never missing
	// a commit it counts. Drawn before COMMIT, a reader could read the
	// value of a commit still in flight, fill its cache without that
	// commit, and never see the sequence move for it.
	b.Queue(`SELECT pg_notify('` + Channel + `', nextval('batos_commit')::text)`)
	upToCommit := b.Len() - 1
	br := t.conn.SendBatch(t.ctx, b)
	var err error
	for range upToCommit {
		if _, err = br.Exec(); err != nil {
			break
		}
	}
	if err == nil {
		// Committed. A notification that fails now leaves the sequence
		// where it was (followers catch up at the next commit); it does
		// not make the commit a failure.
		_, _ = br.Exec()
	}
	_ = br.Close() // its error is err, or the notification's
	t.begun = true
	t.finish(err == nil)
	if err != nil {
		return fmt.Errorf("pgstore: commit: %w", mapErr(err))
	}
	return nil
}

// finish ends the transaction: on failure it rolls back, and a
// connection in an unknown state is closed rather than reused.
func (t *txn) finish(ok bool) {
	if t.done {
		return
	}
	t.done = true
	if t.conn == nil {
		return
	}
	if !ok && t.begun {
		if _, err := t.conn.Exec(context.WithoutCancel(t.ctx), "ROLLBACK"); err != nil {
			t.conn.Conn().Close(context.Background())
		}
	}
	t.conn.Release()
	t.conn = nil
}

func (t *txn) Discard() {
	if t.done {
		return
	}
	t.finish(false)
}

// Sequence implements store.Store: the counter is a row of batos_kv,
// leased in serializable transactions, so several processes share it.
func (s *Store) Sequence(key []byte, lease uint64) (store.Sequence, error) {
	if lease == 0 {
		lease = 1
	}
	q := &sequence{s: s, key: bytes.Clone(key), lease: lease}
	if err := q.renew(); err != nil {
		return nil, err
	}
	return q, nil
}

type sequence struct {
	s      *Store
	key    []byte
	lease  uint64
	mu     sync.Mutex
	next   uint64
	leased uint64
}

func (q *sequence) update(fn func(cur uint64, tx store.Txn) error) error {
	ctx := context.Background()
	for attempt := 0; ; attempt++ {
		tx, err := q.s.Begin(ctx, true)
		if err != nil {
			return err
		}
		v, _, _, err := tx.Get(q.key, nil)
		if err == nil {
			var cur uint64
			if len(v) == 8 {
				cur = uint64FromBytes(v)
			}
			err = fn(cur, tx)
		}
		if err == nil {
			err = tx.Commit()
		}
		tx.Discard()
		if err == nil || !errors.Is(err, store.ErrConflict) || attempt >= 50 {
			return err
		}
	}
}

func (q *sequence) renew() error {
	return q.update(func(cur uint64, tx store.Txn) error {
		q.next, q.leased = cur, cur+q.lease
		return tx.Set(q.key, bytesFromUint64(q.leased))
	})
}

func (q *sequence) Next() (uint64, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.next >= q.leased {
		if err := q.renew(); err != nil {
			return 0, fmt.Errorf("pgstore: sequence: %w", err)
		}
	}
	n := q.next
	q.next++
	return n, nil
}

func (q *sequence) Release() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.update(func(cur uint64, tx store.Txn) error {
		if cur != q.leased {
			return nil // another holder leased since: what is left stays unused
		}
		return tx.Set(q.key, bytesFromUint64(q.next))
	})
}

func uint64FromBytes(b []byte) uint64 {
	var n uint64
	for _, c := range b {
		n = n<<8 | uint64(c)
	}
	return n
}

func bytesFromUint64(n uint64) []byte {
	b := make([]byte, 8)
	for i := 7; i >= 0; i-- {
		b[i] = byte(n)
		n >>= 8
	}
	return b
}

// NewBatch implements store.Store: rows go in transactions of a few
// thousand rows or a few MiB.
func (s *Store) NewBatch() store.Batch { return &batch{s: s} }

type batch struct {
	s    *Store
	b    pgx.Batch
	size int
}

func (b *batch) Set(key, val []byte) error {
	if val == nil {
		val = []byte{}
	}
	b.b.Queue(upsertSQL, key, val)
	b.size += len(key) + len(val)
	if b.b.Len() >= 2000 || b.size >= 16<<20 {
		return b.flush()
	}
	return nil
}

func (b *batch) flush() error {
	if b.b.Len() == 0 {
		return nil
	}
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, b.s.pool, func(tx pgx.Tx) error {
		return tx.SendBatch(ctx, &b.b).Close()
	})
	b.b, b.size = pgx.Batch{}, 0
	if err != nil {
		return fmt.Errorf("pgstore: batch: %w", err)
	}
	return nil
}

func (b *batch) Flush() error { return b.flush() }

func (b *batch) Cancel() { b.b, b.size = pgx.Batch{}, 0 }

// Channel is the notification channel a commit that wrote anything
// notifies, with the change sequence's new value as payload.
const Channel = "batos_changes"

// ChangeSeq implements store.Watcher: the change sequence, which every
// commit that writes moves forward once it is done, so that a reader that
// reads a value and then the data sees every commit the value counts.
//
// A new sequence reads as its start value before its first nextval; that
// is no commit yet, and reads as 0.
func (s *Store) ChangeSeq(ctx context.Context) (uint64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM batos_commit`).Scan(&n); err != nil {
		return 0, fmt.Errorf("pgstore: change sequence: %w", err)
	}
	return uint64(n), nil
}

// Watch implements store.Watcher: it listens on Channel and calls fn with
// the change sequence after each commit by anyone, until ctx ends. After a
// lost connection it reconnects and calls fn with the current sequence, so
// that a missed notification is caught up.
func (s *Store) Watch(ctx context.Context, fn func(seq uint64)) error {
	for ctx.Err() == nil {
		err := s.listen(ctx, fn)
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

func (s *Store) listen(ctx context.Context, fn func(uint64)) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		return err
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), "UNLISTEN "+Channel); err != nil {
			conn.Conn().Close(context.Background())
		}
	}()
	// Catch up on whatever committed before the LISTEN took effect.
	seq, err := s.ChangeSeq(ctx)
	if err != nil {
		return err
	}
	fn(seq)
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if v, err := strconv.ParseUint(n.Payload, 10, 64); err == nil {
			fn(v)
		}
	}
}
