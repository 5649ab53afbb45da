// Package uvm is a persistent image of prototype objects: objects with
// slots and delegation, kept in a Badger store (or PostgreSQL), read and
// changed only inside transactions that commit whole or leave no trace. Methods are
// slot values too: native Go functions the host registers, or Go source
// that a [MethodRunner] runs. uvm stores method source and never compiles
// it; where methods come from, and what happens to a message nothing
// answers, is decided by whoever implements [MethodRunner] and the
// [DoesNotUnderstand] hook.
//
// # Data model
//
//	Image (Badger) ──► Object (OID) ──► slots: name → value
//	                                     value: nil | bool | int64 | float64 | string
//	                                          | []byte | []any | map[string]any
//	                                          | Ref (another object) | Primitive (host Go code)
//	                                          | Method (Go source + metadata) | BlobRef
//	roots: "genesis", "traits", … → OID
//	records: (namespace, key) → bytes
//	blobs: SHA-256 → bytes, in chunks
//
// An object is an OID and its own slots. OIDs are never reused, not even
// those of discarded transactions or of objects deleted since. An object's
// parents are the ordinary slot "parents" ([ParentsSlot]), a list of Ref.
// Roots name the objects a host finds again after a restart. [Object.Set]
// stores a copy of a value normalized to the types above ([Normalize]
// shows the result without storing it); anything else is refused with a
// *[ValueError].
//
// # Usage
//
//	im, err := uvm.Open(dir, uvm.Options{})
//	defer im.Close()
//	err = im.Update(ctx, func(tx *uvm.Tx) error {
//		proto, _ := tx.New()
//		proto.Set("greeting", "hello")
//		child, _ := tx.New()
//		child.SetParents(proto)
//		v, err := tx.Send(ctx, child, "greeting") // "hello", found through the parent
//		...
//		return tx.SetRoot("genesis", child)
//	})
//
// # Lookup and sends
//
// [Tx.Lookup] searches the receiver's own slots, then each parent in the
// order of the parents slot, depth-first, visiting every object at most
// once, so a cycle in the parent graph ends. The rule for ambiguity is
// Self's: if two parents of one object — the receiver or any of its
// ancestors — lead to two different objects holding the selector, the send
// fails with an *[AmbiguousError] naming the receiver, the object where the
// branches part, and both holders; resend through the one you mean (or any
// other ancestor of the receiver) with [Tx.SendVia], which starts the
// lookup there and still runs the method on the receiver. Reaching the same
// holder along two paths (a diamond) is not ambiguous.
//
// [Tx.Send] activates what the lookup finds, in the sender's transaction:
// a [Primitive] calls the function registered with
// [Image.RegisterPrimitive], a [Method] goes to [Options.Runner] (without
// one, [ErrNoRunner]), and a data slot sent no arguments answers a copy of
// its value. Sends nest up to [Options.MaxSendDepth].
//
// # The DoesNotUnderstand hook
//
// A selector nothing answers goes to the [DoesNotUnderstand] interface set
// in [Options]; without one, [Tx.Send] returns a *[NotUnderstoodError]. The
// hook receives a [Message] (the transaction, the receiver, the selector
// and the arguments) inside the sender's transaction, and its answer or
// error becomes the answer of the send. It may answer by itself, or change
// the image in a transaction of its own and restart the sender's (see
// Restart below). uvm does not know what an implementation does; a higher
// layer (batos's psm package) writes the missing method there.
//
// # Transactions
//
// [Image.Update] commits when its function returns nil and discards
// everything when it returns an error or panics (the panic becomes a
// *[PanicError]). [Image.View] is read-only. Every write reads its key
// first, so two transactions that change the same object cannot both
// commit: the later one conflicts, and Update runs its function again on a
// fresh snapshot, a bounded number of times with backoff and jitter, before
// returning an error wrapping [ErrConflict]. An object's method slots are
// kept in [MethodParts] parts apart from its data, and a transaction reads
// a part only when it needs a slot there: two transactions that change
// methods in different parts of one object (and read none of each other's)
// both commit. [Tx.OnCommit] runs a function
// after a successful commit only; [Tx.SetValue] keeps a value with one
// attempt of the transaction, and the next attempt starts without it.
//
// # Restart
//
// [Tx.Restart] marks a transaction to run again at once on a fresh
// snapshot: whatever its function then returns, View or Update discard the
// attempt and call the function again, without counting a conflict retry.
// A hook that has committed something in a transaction of its own uses it,
// so that the sender sees that commit instead of running on a snapshot
// that predates it and then conflicting. A send in a marked transaction
// returns an error wrapping [ErrRestart]; restarts are bounded by
// [MaxRestarts].
//
// # The persistence covenant
//
// A change to an object's state must be marked, or the commit refuses it.
// [Object.Set] and [Object.Delete] mark the object themselves. Changing a
// map or slice obtained from a slot in place is also a change, and it must
// be followed by [Object.MarkChanged]. The narrow [Self] view that a
// [MethodRunner] hands to methods stored as source marks nothing: such a
// method must call MarkChanged after any write. At commit, every object
// whose encoding differs from the one loaded but which carries no mark
// fails the commit with a *[CovenantError] (errors.Is [ErrCovenant])
// naming the object, the slot and the method; nothing of the transaction
// is written. [Tx.CheckCovenant] asks the same question without
// committing.
//
// # Durability
//
// On disk, and unless [Options.NoSync], Update returns nil only once its
// commit is durable: a power failure after that loses none of it.
// Concurrent commits share the syncs that make them so (group commit):
// Badger writes each commit to its logs without syncing, and the
// committing goroutine then waits for a sync that started after that
// write, leading one when none is running; the commits that complete
// while one sync runs wait for the next, which covers them all. A sync
// lists the image's directory and syncs the active memtable log, the
// newest value log if a commit since wrote a value large enough to be
// kept there, and, once, each log a newer one has superseded since (a
// superseded log no longer changes; one no longer on disk was flushed
// into a table Badger made durable before deleting it). The logs are
// append-only, so a sync covers every byte written before it began, and
// the log holding an acknowledged commit was either synced after the
// commit or flushed. What an acknowledged commit read was written before
// it and is covered too. After a crash Badger replays the logs and drops
// a transaction whose entries are incomplete, so a commit not yet
// acknowledged is either whole or absent. A transaction that writes
// nothing waits for no sync, and one that calls [Tx.DeferSync] returns
// once written: a crash of the process keeps it, the next commit that
// waits makes it durable, and only a power failure before then can lose
// it. (The full argument is in groupsync.go.)
//
// A failed sync is sticky, as PostgreSQL treats a failed fsync: the
// commits that waited for it and every later write transaction fail with
// [ErrNotDurable] (the later ones before committing), and so does Close;
// reopen the image.
//
// # Methods and versions
//
// A [Method] is Go source with its metadata, stored in a slot like any
// value. [Tx.InstallMethod] stores it as the next version of its selector
// and keeps every earlier one: [Tx.MethodVersions] lists them,
// [Tx.MethodVersion] reads one, and [Tx.RevertMethod] makes an older one
// current again. [Tx.Run] activates a method on an object without a
// lookup. Compiled code is never persisted.
//
// # Records and blobs
//
// Records are byte values under (namespace, key) for layers above uvm that
// keep their own data in the image ([Tx.PutRecord], [Tx.GetRecord],
// [Tx.ScanRecords], [Tx.DeleteRecord]); they commit and roll back with the
// objects of their transaction. Blobs are large byte contents addressed by
// their SHA-256 ([Image.PutBlob], [Tx.ReadBlob]); a slot keeps a
// [BlobRef] to one.
//
// # Encoding
//
// Every stored value starts with a format byte and a CRC32C checksum, and
// every slot inside an object carries its own checksum, so a damaged value
// is reported as a *[CorruptError] naming the OID and, where it can, the
// slot — it is never handed on as an empty value. An image written by a
// newer format is refused by [Open] with [ErrFormat].
//
// An object is stored as its data slots under one key and its method
// slots spread over up to 16 keys by a hash of the selector, so that a
// method changing its object's data rewrites none of the object's methods,
// and an install rewrites a sixteenth of them. A method slot is checked
// when it is first read from the store and decoded when it is first looked
// up; decoded method keys are cached by version across transactions.
//
// [Image.Backup] and [Image.Restore] copy an image as stored, and
// [Image.Fingerprint] summarizes its content for comparison.
//
// # Integrity
//
// The parent graph stays acyclic: a parents change that would make an
// object its own ancestor, directly or through others, is refused with a
// *[ParentCycleError] naming the chain (errors.Is [ErrParentCycle]), when
// the slot is set and again at commit for a parents list changed in place.
// Lookup still ends on a cycle that an older image holds.
//
// Open checks an on-disk image's files before Badger reads them: the
// MANIFEST, every table's index and every block against its checksum
// (about 1 ms per MiB of image), and the entries of the memtable and value
// logs. A damaged file fails Open with a *[CorruptImageError] naming it
// (errors.Is [ErrCorruptImage]); a damaged value that a read finds later
// is a *[CorruptError], which matches ErrCorruptImage too. [Salvage] reads
// a damaged image's files itself and copies everything readable into a
// new image: each object with its intact slots (a method slot lost with
// its part of the object comes back from the method's history), every
// intact method version, record, root, and blob whose content matches its
// address. Its [SalvageReport] names what it could not copy. What only a
// damaged block or log entry held is lost: the report gives the range of
// keys, and names the objects still referred to but missing.
//
// # Stores and many kernels
//
// uvm keeps its keys and values in a [store.Store]: transactions with get,
// set, delete and ordered prefix scans, optimistic conflicts (retried by
// Update) and per-key versions (decoded method buckets are cached by
// them). [Open] of a directory uses Badger (package badgerstore, the
// default); [Open] of a postgres:// location, or [OpenStore] of a
// pgstore.Store, keeps the image in PostgreSQL, shared by every process
// that opens it. Such processes ("kernels") agree on who does a piece of
// work with [Image.TryLease], and a layer that caches what it read
// follows the others' commits with [Image.Follow] and [Image.ChangeSeq].
// Salvage reads Badger's files and stays Badger's.
//
// # Caveats
//
//   - A Tx and the Objects read through it are valid only inside the
//     transaction function and must not be shared between goroutines.
//     An *Object belongs to the transaction that loaded or created it:
//     handing it to another transaction's methods (including the next
//     attempt of a retried Update) fails with a *[ForeignObjectError]
//     (errors.Is [ErrForeignObject]); load it again by OID instead.
//   - Update may run its function more than once (conflict retries, and
//     [Tx.Restart]); keep effects outside the image (network calls,
//     channel sends) idempotent or outside Update.
//   - One transaction holds at most about 15% of Options.MemTableSize.
//     Large blobs therefore go through [Image.PutBlob], which writes chunks
//     in several transactions.
//   - Deleting an object does not touch references to it; following one
//     returns ErrNotFound.
//   - A commit is visible to other transactions as soon as Badger has
//     written it, a sync before it is durable and its Update returns: a
//     reader can see, for that moment, a commit that a power failure
//     would still undo. Any commit that depends on what it read is
//     synced after it, so nothing acknowledged builds on a lost commit.
package uvm
