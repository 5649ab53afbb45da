// Package uvm is batos's living image: persistent prototype objects with
// slots and delegation, kept in a Badger store, changed only inside
// transactions that commit whole or leave no trace.
//
// # Data model
//
//	Image (Badger) ──► Object (OID) ──► slots: name → value
//	                                     value: nil | bool | int64 | float64 | string
//	                                          | []byte | []any | map[string]any
//	                                          | Ref (another object) | Primitive (host Go code)
//	                                          | Method (Go source + metadata) | BlobRef
//	roots: "genesis", "traits", … → OID
//
// An object's parents are the ordinary slot "parents", a list of Ref.
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
// # Lookup
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
// A selector nobody answers goes to the [DoesNotUnderstand] hook in
// [Options]; without one, [Tx.Send] returns a *[NotUnderstoodError].
//
// # Transactions
//
// [Image.Update] commits when its function returns nil and discards
// everything when it returns an error or panics (the panic becomes a
// *[PanicError]). Every write reads its key first, so two transactions
// that change the same object cannot both commit: the later one conflicts,
// and Update runs its function again on a fresh snapshot, a bounded number
// of times with backoff and jitter, before returning an error wrapping
// [ErrConflict].
//
// # The persistence covenant
//
// A change to an object's state must be marked, or the commit refuses it.
// [Object.Set] and [Object.Delete] mark the object themselves. Changing a
// map or slice obtained from a slot in place is also a change, and it must
// be followed by [Object.MarkChanged]. The narrow [Self] view that
// generated methods receive marks nothing: such a method must call
// MarkChanged after any write. At commit, every object whose encoding
// differs from the one loaded but which carries no mark fails the commit
// with a *[CovenantError] (errors.Is [ErrCovenant]) naming the object, the
// slot and the method; nothing of the transaction is written.
//
// # Encoding
//
// Every stored value starts with a format byte and a CRC32C checksum, and
// every slot inside an object carries its own checksum, so a damaged value
// is reported as a *[CorruptError] naming the OID and, where it can, the
// slot — it is never handed on as an empty value. Methods are stored as
// source; compiled code is never persisted. Every installed version of a
// method is kept: see [Tx.InstallMethod], [Tx.MethodVersions] and
// [Tx.RevertMethod].
//
// An object is stored as its data slots under one key and its method
// slots spread over up to 16 keys by a hash of the selector, so that a
// method changing its object's data rewrites none of the object's methods,
// and an install rewrites a sixteenth of them. A method slot is checked
// when it is first read from the store and decoded when it is first looked
// up; decoded method keys are cached by version across transactions.
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
package uvm
