package uvm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/batos-dev/batos/uvm/store"
)

// Tx is a transaction on an Image: a consistent snapshot plus the changes
// made in it. A Tx is valid only inside the function given to View or
// Update and must not be used from several goroutines at once.
type Tx struct {
	im      *Image
	txn     store.Txn
	update  bool
	done    bool
	objects map[OID]*Object
	order   []OID // load order, so commits and errors are deterministic
	depth   int   // nested sends
	context string
	hooks   []func()
	restart error // set by Restart
	readErr error // the first damage found reading a method part where it could not be returned
	values  map[any]any
	// What the transaction writes to Badger (Tx.writing): its commit
	// must be synced, and the value log too for a large value.
	wrote, valueLog bool
	deferSync       bool // DeferSync was called
}

// DeferSync lets this transaction's commit return as soon as it is
// written, without waiting for it to reach the disk: other transactions
// see it at once, a crash of the process keeps it (it is in the
// operating system's hands), and the next commit that does wait makes
// it durable too, since a sync covers everything written before it. Only
// a power failure or a crash of the system before that loses it. For
// writes worth little alone, such as progress notes that a later durable
// commit supersedes; on PostgreSQL it is synchronous_commit off for the
// transaction. It lasts for this attempt only (a retried or restarted
// attempt waits again unless it calls DeferSync too).
func (tx *Tx) DeferSync() {
	tx.deferSync = true
	if d, ok := tx.txn.(store.SyncDeferrer); ok {
		d.DeferSync()
	}
}

// SetValue keeps a value with this attempt of the transaction, for a
// DoesNotUnderstand hook or a primitive to find again later in it (like a
// context value, but writable). A restarted or retried attempt starts with
// none.
func (tx *Tx) SetValue(key, value any) {
	if tx.values == nil {
		tx.values = map[any]any{}
	}
	tx.values[key] = value
}

// Value returns what SetValue kept under key in this attempt, or nil.
func (tx *Tx) Value(key any) any { return tx.values[key] }

// readFailed keeps the first error met reading a method part for an
// Object method that has no error to return (Get, Has, IsBehaviour,
// Slots): the transaction then fails with it, so damage is never read as
// a missing slot.
func (tx *Tx) readFailed(err error) {
	if tx.readErr == nil {
		tx.readErr = err
	}
}

// Restart marks the transaction to run again, at once, on a fresh
// snapshot: when its function returns, whatever it returns, View or Update
// discards this attempt and calls the function again. It returns an error
// wrapping ErrRestart, for the caller to return.
//
// A DoesNotUnderstand hook that commits in a transaction of its own (to
// install the method it was asked for, say) uses it: the sender's snapshot
// predates that commit, so the sender's transaction runs again and finds
// the method by lookup, instead of running on stale state and then
// conflicting. Restarts are bounded (see MaxRestarts).
func (tx *Tx) Restart(reason string) error {
	if tx.restart == nil {
		tx.restart = fmt.Errorf("%w: %s", ErrRestart, reason)
	}
	return tx.restart
}

// Restarting reports whether the transaction has been marked with
// Restart: whatever it does from now on is discarded.
func (tx *Tx) Restarting() bool { return tx.restart != nil }

// OnCommit registers fn to run after this transaction commits successfully
// (not after a discarded attempt, nor after one that Update retries). Layers
// that keep in-memory indexes in step with the image use it. fn runs on the
// committing goroutine after the commit, before Update waits for the commit
// to be durable (see Durability in the package documentation), and must not
// block for long.
func (tx *Tx) OnCommit(fn func()) {
	if fn != nil && !tx.done {
		tx.hooks = append(tx.hooks, fn)
	}
}

func newTx(im *Image, txn store.Txn, update bool) *Tx {
	return &Tx{im: im, txn: txn, update: update, objects: map[OID]*Object{}}
}

func (tx *Tx) end() {
	tx.done = true
	tx.txn.Discard()
}

// Park lets the transaction give back what its store holds for it (a
// PostgreSQL connection) while the caller waits for other transactions
// to commit: a DoesNotUnderstand hook waiting for the cycle that writes
// the method. The transaction goes on after it, as one transaction: its
// commit conflicts (and Update runs its function again) if anything it
// read before has changed since. On a Badger image it does nothing.
func (tx *Tx) Park() {
	if tx.done {
		return
	}
	if p, ok := tx.txn.(store.Parker); ok {
		p.Park()
	}
}

// Image returns the image this transaction belongs to.
func (tx *Tx) Image() *Image { return tx.im }

// Writable reports whether this is an Update transaction.
func (tx *Tx) Writable() bool { return tx.update }

func (tx *Tx) check(write bool) error {
	if tx.done {
		return ErrTxDone
	}
	if write && !tx.update {
		return ErrReadOnly
	}
	return nil
}

// get reads a key, copying the value out of Badger. A missing key returns
// (nil, nil). Reading registers the key for conflict detection.
func (tx *Tx) get(key []byte) ([]byte, error) {
	v, _, found, err := tx.txn.Get(key, nil)
	if err != nil {
		return nil, readError(key, err)
	}
	if !found {
		return nil, nil
	}
	if v == nil {
		v = []byte{} // present but empty: unframe reports it as corrupt
	}
	return v, nil
}

// bucket reads one method bucket of an object, decoded: from the image's
// cache when this version of it was decoded before (a committed key's
// value never changes under one version, and method slots are never
// changed in place), else from the store. The map is shared: copy from it.
func (tx *Tx) bucket(oid OID, b int) ([]byte, map[string]any, error) {
	mkey := methKey(oid, b)
	var cachedRaw []byte
	var cachedMeths map[string]any
	raw, ver, found, err := tx.txn.Get(mkey, func(ver uint64) bool {
		var ok bool
		cachedRaw, cachedMeths, ok = tx.im.buckets.get(bucketKey{oid: oid, b: b, version: ver})
		return ver != 0 && ok
	})
	if err != nil {
		return nil, nil, readError(mkey, err)
	}
	if !found {
		return nil, nil, &CorruptError{Key: printableKey(mkey), OID: oid, Reason: "a methods part of the object is missing"}
	}
	if raw == nil && cachedMeths != nil {
		return cachedRaw, cachedMeths, nil
	}
	ck := bucketKey{oid: oid, b: b, version: ver}
	if raw == nil {
		raw = []byte{}
	}
	meths, err := decodeObject(oid, mkey, raw)
	if err != nil {
		return nil, nil, err
	}
	for n, v := range meths {
		if !isMethod(v) || bucketOf(n) != b {
			return nil, nil, &CorruptError{Key: printableKey(mkey), OID: oid, Slot: n, Reason: "not a method of this bucket"}
		}
	}
	if ver != 0 {
		tx.im.buckets.put(ck, raw, meths)
	}
	return raw, meths, nil
}

// set writes a key after reading it, so that Badger's conflict detection
// sees every write: two transactions that write the same key never both
// commit blind.
func (tx *Tx) set(key, val []byte) error {
	if _, _, _, err := tx.txn.Get(key, skipValue); err != nil {
		return readError(key, err)
	}
	tx.writing(val)
	if err := tx.txn.Set(key, val); err != nil {
		return fmt.Errorf("uvm: write %s: %w", printableKey(key), err)
	}
	return nil
}

// skipValue makes a Get that only registers the read.
func skipValue(uint64) bool { return true }

func (tx *Tx) del(key []byte) error {
	if _, _, _, err := tx.txn.Get(key, skipValue); err != nil {
		return readError(key, err)
	}
	tx.writing(nil)
	if err := tx.txn.Delete(key); err != nil {
		return fmt.Errorf("uvm: delete %s: %w", printableKey(key), err)
	}
	return nil
}

// Object returns the object with the given OID. A missing object is a
// *NotFoundError (errors.Is ErrNotFound); a damaged one a *CorruptError.
// Its method slots are read when first needed, a part at a time (see
// Object.Get): damage there is a *CorruptError of the call that needed
// the slot, or, from an Object method that returns no error, of the
// transaction (Update and View return it).
func (tx *Tx) Object(oid OID) (*Object, error) {
	if err := tx.check(false); err != nil {
		return nil, err
	}
	if o, ok := tx.objects[oid]; ok {
		if o.deleted {
			return nil, &NotFoundError{Kind: "object", Name: fmt.Sprint(oid)}
		}
		return o, nil
	}
	key := objKey(oid)
	if p, ok := tx.txn.(store.Prefetcher); ok {
		// One round trip for the data part and every methods part.
		if err := p.Prefetch(key, methPrefix(oid)); err != nil {
			return nil, readError(key, err)
		}
	}
	raw, err := tx.get(key)
	if err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, &NotFoundError{Kind: "object", Name: fmt.Sprint(oid)}
	}
	slots, err := decodeObject(oid, key, raw)
	if err != nil {
		return nil, err
	}
	o := &Object{tx: tx, oid: oid, slots: slots, orig: raw}
	if mv, ok := slots[methodsMarker]; ok {
		delete(slots, methodsMarker)
		mask, _ := mv.(int64)
		if mask <= 0 || mask >= 1<<methodBuckets {
			return nil, &CorruptError{Key: printableKey(key), OID: oid, Slot: "(methods marker)", Reason: fmt.Sprintf("bad method bucket mask %v", mv)}
		}
		// The method parts are read when a slot in them is needed
		// (Object.readPart).
		o.stored, o.unread = mask, mask
	} else {
		for _, v := range slots {
			if isMethod(v) {
				o.legacy = true
				break
			}
		}
	}
	tx.objects[oid] = o
	tx.order = append(tx.order, oid)
	return o, nil
}

// New creates an empty object with a fresh OID.
func (tx *Tx) New() (*Object, error) {
	if err := tx.check(true); err != nil {
		return nil, err
	}
	oid, err := tx.im.nextOID()
	if err != nil {
		return nil, err
	}
	o := &Object{tx: tx, oid: oid, slots: map[string]any{}, isNew: true, marked: true}
	tx.objects[oid] = o
	tx.order = append(tx.order, oid)
	return o, nil
}

// Clone creates a new object holding a deep copy of proto's own slots
// (including its parents slot).
func (tx *Tx) Clone(proto *Object) (*Object, error) {
	if err := proto.usableIn(tx, "Tx.Clone"); err != nil {
		return nil, err
	}
	if err := proto.readAll(); err != nil {
		return nil, err
	}
	o, err := tx.New()
	if err != nil {
		return nil, err
	}
	for k, v := range proto.slots {
		o.slots[k] = deepCopy(v)
	}
	return o, nil
}

// Delete removes an object from the image. References to it elsewhere are
// left as they are; following one later returns ErrNotFound.
func (tx *Tx) Delete(o *Object) error {
	if err := o.usableIn(tx, "Tx.Delete"); err != nil {
		return err
	}
	if err := tx.check(true); err != nil {
		return err
	}
	if err := o.readAll(); err != nil { // its parts go with it
		return err
	}
	o.deleted = true
	return nil
}

// Root returns the object registered under a root name.
func (tx *Tx) Root(name string) (*Object, error) {
	if err := tx.check(false); err != nil {
		return nil, err
	}
	if err := CheckName(name); err != nil {
		return nil, err
	}
	key := rootKey(name)
	raw, err := tx.get(key)
	if err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, &NotFoundError{Kind: "root", Name: fmt.Sprintf("%q", name)}
	}
	p, cerr := unframe(key, raw)
	if cerr != nil {
		return nil, cerr
	}
	oid, n := binary.Uvarint(p)
	if n <= 0 || n != len(p) {
		return nil, &CorruptError{Key: printableKey(key), Reason: "bad root oid"}
	}
	return tx.Object(OID(oid))
}

// SetRoot registers o under a root name, replacing any previous object;
// a nil o removes the name.
func (tx *Tx) SetRoot(name string, o *Object) error {
	if err := tx.check(true); err != nil {
		return err
	}
	if err := CheckName(name); err != nil {
		return err
	}
	if o == nil {
		return tx.del(rootKey(name))
	}
	if err := o.usableIn(tx, "Tx.SetRoot"); err != nil {
		return err
	}
	return tx.set(rootKey(name), frame(binary.AppendUvarint(nil, uint64(o.oid))))
}

// Roots lists the root names and their OIDs.
func (tx *Tx) Roots() (map[string]OID, error) {
	if err := tx.check(false); err != nil {
		return nil, err
	}
	out := map[string]OID{}
	err := tx.txn.Scan([]byte{pfxRoot}, true, func(key, raw []byte) error {
		p, cerr := unframe(key, raw)
		if cerr != nil {
			return cerr
		}
		oid, _ := binary.Uvarint(p)
		out[string(key[1:])] = OID(oid)
		return nil
	})
	if err != nil {
		return nil, scanErr(err)
	}
	return out, nil
}

// CheckCovenant reports, without committing, whether a commit now would
// fail the persistence covenant: the first object (in load order) whose
// state changed without a mark, as a *CovenantError. It also makes the
// commit's other check, of parents changed in place (a *ParentCycleError,
// or a *ValueError for a parents list that no longer holds only Refs). A
// dry run that is about to discard its transaction uses it to learn what a
// commit would say.
func (tx *Tx) CheckCovenant() error {
	if err := tx.check(false); err != nil {
		return err
	}
	if err := tx.checkAllParents(); err != nil {
		return err
	}
	for _, oid := range tx.order {
		o := tx.objects[oid]
		if o.deleted || o.marked || (!o.exposed && !o.written) {
			continue
		}
		if _, _, changed := o.encode(); changed {
			return &CovenantError{OID: oid, Slot: o.changedSlot(), Method: o.toucher}
		}
	}
	return nil
}

// encode returns the object's parts as they would be written, and
// whether any differs from what was loaded. A part not read is nil and
// stays as stored.
func (o *Object) encode() (data []byte, meth [methodBuckets][]byte, changed bool) {
	if o.isNew || o.legacy {
		data, meth = encodeParts(o.slots, len(o.orig))
		if o.legacy {
			// Unchanged means unchanged in the layout it was loaded in; a
			// changed object is written in the current one.
			return data, meth, !bytes.Equal(encodeObject(o.slots, len(o.orig)), o.orig)
		}
		return data, meth, true
	}
	d := make(map[string]any, len(o.slots))
	var parts [methodBuckets]map[string]any
	methods := o.unread != 0 // a part not read holds methods, or is empty but kept
	again := o.dirty | (allParts &^ o.stored)
	for n, v := range o.slots {
		if !isMethod(v) {
			d[n] = v
			continue
		}
		methods = true
		if b := bucketOf(n); again&(1<<b) != 0 {
			if parts[b] == nil {
				parts[b] = map[string]any{}
			}
			parts[b][n] = v
		}
	}
	if methods {
		d[methodsMarker] = int64(allParts)
		for b := range meth {
			switch {
			case o.unread&(1<<b) != 0:
			case again&(1<<b) != 0:
				meth[b] = encodeObject(parts[b], len(o.origM[b]))
			default:
				meth[b] = o.origM[b]
			}
		}
	}
	data = encodeObject(d, len(o.orig))
	changed = !bytes.Equal(data, o.orig)
	for b := range meth {
		changed = changed || !bytes.Equal(meth[b], o.origM[b])
	}
	return data, meth, changed
}

// commit writes every changed object, enforcing the persistence covenant
// and an acyclic parent graph, then commits the Badger transaction.
func (tx *Tx) commit() error {
	if err := tx.checkAllParents(); err != nil {
		return err
	}
	for _, oid := range tx.order {
		o := tx.objects[oid]
		key := objKey(oid)
		if o.deleted {
			if !o.isNew {
				tx.writing(nil)
				if err := tx.txn.Delete(key); err != nil {
					return fmt.Errorf("uvm: delete object %d: %w", oid, err)
				}
				for b := range o.origM {
					if o.origM[b] != nil {
						if err := tx.txn.Delete(methKey(oid, b)); err != nil {
							return fmt.Errorf("uvm: delete object %d: %w", oid, err)
						}
					}
				}
			}
			continue
		}
		if !o.marked && !o.exposed && !o.written {
			continue // never written, never handed out a container: unchanged
		}
		data, meth, changed := o.encode()
		if !changed {
			continue
		}
		if !o.marked {
			return &CovenantError{OID: oid, Slot: o.changedSlot(), Method: o.toucher}
		}
		tx.writing(data)
		for _, part := range meth {
			tx.writing(part)
		}
		// Each part written was read (Object.readPart: before a method
		// slot in it is set or deleted), or the object is new, or the
		// part is known to be absent from the data part's marker, which
		// was read; so Badger checks it for conflicts: no blind writes.
		// A part not read is nil here and stays as it is.
		if o.legacy || !bytes.Equal(data, o.orig) {
			if err := tx.txn.Set(key, data); err != nil {
				return fmt.Errorf("uvm: write object %d: %w", oid, err)
			}
		}
		for b := range meth {
			switch {
			case meth[b] != nil && (o.legacy || !bytes.Equal(meth[b], o.origM[b])):
				if err := tx.txn.Set(methKey(oid, b), meth[b]); err != nil {
					return fmt.Errorf("uvm: write the methods of object %d: %w", oid, err)
				}
			case meth[b] == nil && o.origM[b] != nil:
				if err := tx.txn.Delete(methKey(oid, b)); err != nil {
					return fmt.Errorf("uvm: write the methods of object %d: %w", oid, err)
				}
			}
		}
	}
	if tx.wrote {
		if err := tx.im.durable.failed(); err != nil {
			return fmt.Errorf("uvm: commit refused: %w", err)
		}
	}
	if err := tx.txn.Commit(); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return err // Update retries on this
		}
		return fmt.Errorf("uvm: commit: %w", err)
	}
	for _, fn := range tx.hooks {
		fn()
	}
	if tx.wrote && !tx.deferSync {
		if err := tx.im.durable.wait(tx.valueLog); err != nil {
			return fmt.Errorf("uvm: commit: %w", err)
		}
	}
	return nil
}

// changedSlot names the first slot (in name order) whose encoding differs
// from the one loaded.
func (o *Object) changedSlot() string {
	if cs := o.changedSlots(); len(cs) > 0 {
		return cs[0].Slot
	}
	return ""
}
