// Package pgstore implements package store on PostgreSQL, through
// jackc/pgx v5, so that several kernels (processes, machines) share one
// image.
//
// Every key and value lives in one table, batos_kv (k bytea primary key,
// v bytea, ver bigint), created by Open together with batos_meta, which
// holds the schema version (a newer one than this package knows is
// refused with ErrSchema). ver is drawn from the sequence batos_ver at
// each write, so a key's value never changes under one version and a
// reader may cache what it decoded by it.
//
// Transactions are SERIALIZABLE; a serialization failure (SQLSTATE
// 40001) or a deadlock (40P01) is a store.ErrConflict, which uvm retries
// like a Badger conflict. Reads go to the server, and a transaction keeps
// what it read (its snapshot does not move); writes are buffered in the
// transaction and sent with COMMIT in one round trip. Prefetch loads an
// object's keys in one round trip, with a prefix range scan.
//
// # SQL subset
//
// The SQL stays within what distributed engines that speak the PostgreSQL
// protocol with serializable transactions (CockroachDB, YugabyteDB) also
// accept: CREATE TABLE / CREATE SEQUENCE IF NOT EXISTS, BEGIN ISOLATION
// LEVEL SERIALIZABLE [READ ONLY], SELECT with equality, = ANY (an array)
// and range (>=, <) predicates on the bytea primary key with ORDER BY and LIMIT, INSERT …
// ON CONFLICT (k) DO UPDATE SET … = excluded.…, DELETE by key, and
// nextval, and reading a sequence's last_value and is_called. No stored procedures, triggers, advisory locks or
// isolation-level-specific locking clauses.
//
// Many kernels: a commit that writes moves the change sequence
// (batos_commit) and notifies the channel batos_changes (pg_notify, sent
// with the commit); Store.Watch listens on it (LISTEN/NOTIFY) and catches
// up with ChangeSeq after a lost connection. LISTEN/NOTIFY and pg_notify
// are PostgreSQL's own; an engine without them still serves the image,
// and its kernels follow each other by polling ChangeSeq.
package pgstore
