package uvm

import (
	"fmt"
	"slices"
)

// Object is a prototype object as seen inside one transaction: an OID and
// its own slots. Values returned by Get belong to the transaction; changing
// a map or slice in place is a state change that must be followed by
// MarkChanged (see the package documentation).
type Object struct {
	tx      *Tx
	oid     OID
	slots   map[string]any
	orig    []byte                // data part as loaded; nil for a new object
	origM   [methodBuckets][]byte // method parts as read; nil where none or not read
	stored  int64                 // the method parts the stored object has (its marker)
	unread  int64                 // stored parts not read yet (see readPart)
	dirty   int64                 // parts where a method slot was set or deleted: encode them again
	legacy  bool                  // loaded in layout 1: methods inside the data part
	isNew   bool
	deleted bool
	marked  bool   // MarkChanged was called (or Set/Delete through *Object)
	exposed bool   // a container was handed out, so in-place change is possible
	written bool   // a slot was set or deleted (marked or not)
	toucher string // the method that last wrote or exposed this object
}

// OID returns the object's identifier.
func (o *Object) OID() OID { return o.oid }

// Ref returns a reference to o, for storing in another object's slot.
func (o *Object) Ref() Ref { return Ref{OID: o.oid} }

func (o *Object) usable() error {
	if o == nil {
		return ErrNilObject
	}
	if o.tx.done {
		return ErrTxDone
	}
	if o.deleted {
		return &NotFoundError{Kind: "object", Name: fmt.Sprint(o.oid)}
	}
	return nil
}

// usableIn is usable for an object handed to a method of tx, which op
// names: tx must not have ended, and o must belong to it.
func (o *Object) usableIn(tx *Tx, op string) error {
	if o == nil {
		return ErrNilObject
	}
	if tx.done {
		return ErrTxDone
	}
	if o.tx != tx {
		return &ForeignObjectError{OID: o.oid, Op: op, Ended: o.tx.done}
	}
	if o.deleted {
		return &NotFoundError{Kind: "object", Name: fmt.Sprint(o.oid)}
	}
	return nil
}

// Get returns an own slot's value (no delegation; see Tx.Lookup for that).
// Containers are returned as stored: modify them in place only together
// with MarkChanged.
func (o *Object) Get(name string) (any, bool) {
	if o.usable() != nil {
		return nil, false
	}
	v, ok, err := o.slot(name)
	if err != nil {
		o.tx.readFailed(err)
		return nil, false
	}
	if ok && isContainer(v) {
		o.exposed = true
		o.toucher = o.tx.context
	}
	return v, ok
}

// slot returns an own slot's value, decoding a method loaded encoded.
func (o *Object) slot(name string) (any, bool, error) {
	v, ok := o.slots[name]
	if !ok && o.unread != 0 {
		if err := o.readPart(bucketOf(name)); err != nil {
			return nil, false, err
		}
		v, ok = o.slots[name]
	}
	if l, lazy := v.(lazyMethod); lazy {
		m, err := l.decode()
		if err != nil {
			return nil, true, &CorruptError{Key: printableKey(objKey(o.oid)), OID: o.oid, Slot: name, Reason: "undecodable method: " + err.Error()}
		}
		o.slots[name] = m
		return m, true, nil
	}
	return v, ok, nil
}

// An object's method slots are stored in parts (methodBuckets of them,
// by a hash of the selector) apart from its data, and a transaction reads
// a part only when it needs a slot that may be there: looking up or
// changing one method reads its part alone, listing the slots reads them
// all. So transactions that touch different methods of one object read
// and write different keys, and do not conflict.

// MethodParts is how many parts an object's method slots are stored in.
const MethodParts = methodBuckets

// MethodPart returns the part of an object that holds the method slot
// selector, from 0 to MethodParts-1. Transactions that change methods in
// different parts of an object that already holds methods read and write
// different keys of it, so they do not conflict over it; the first method
// installed on an object, or the last one deleted, changes its data part
// too.
func MethodPart(selector string) int { return bucketOf(selector) }

// readPart reads method part b into the slots, unless it has been read
// already or the object has none stored.
func (o *Object) readPart(b int) error {
	if o.unread&(1<<b) == 0 {
		return nil
	}
	raw, meths, err := o.tx.bucket(o.oid, b)
	if err != nil {
		return err
	}
	for n := range meths {
		if _, dup := o.slots[n]; dup {
			return &CorruptError{Key: printableKey(methKey(o.oid, b)), OID: o.oid, Slot: n, Reason: "both a method and a data slot"}
		}
	}
	for n, v := range meths { // the map is the cache's: copy
		o.slots[n] = v
	}
	o.origM[b] = raw
	o.unread &^= 1 << b
	return nil
}

// readName reads the method part where a slot name not among the data
// would be.
func (o *Object) readName(name string) error {
	if o.unread == 0 {
		return nil
	}
	if _, ok := o.slots[name]; ok {
		return nil
	}
	return o.readPart(bucketOf(name))
}

// readAll reads every method part not read yet.
func (o *Object) readAll() error {
	for b := range methodBuckets {
		if err := o.readPart(b); err != nil {
			return err
		}
	}
	return nil
}

// IsBehaviour reports whether an own slot holds behaviour (a Method or a
// Primitive) rather than data, without decoding it.
func (o *Object) IsBehaviour(name string) bool {
	if o.usable() != nil {
		return false
	}
	if err := o.readName(name); err != nil {
		o.tx.readFailed(err)
		return false
	}
	switch o.slots[name].(type) {
	case Method, lazyMethod, Primitive:
		return true
	}
	return false
}

// Has reports whether the object has an own slot of that name.
func (o *Object) Has(name string) bool {
	if o.usable() != nil {
		return false
	}
	if err := o.readName(name); err != nil {
		o.tx.readFailed(err)
		return false
	}
	_, ok := o.slots[name]
	return ok
}

// Slots returns the names of the object's own slots, sorted.
func (o *Object) Slots() []string {
	if o.usable() != nil {
		return nil
	}
	if err := o.readAll(); err != nil {
		o.tx.readFailed(err)
	}
	names := make([]string, 0, len(o.slots))
	for n := range o.slots {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// DataSlots returns the names of the object's own slots that hold no
// method, sorted, without reading its methods (see MethodPart): the slots
// Slots lists less every method slot.
func (o *Object) DataSlots() []string {
	if o.usable() != nil {
		return nil
	}
	names := make([]string, 0, len(o.slots))
	for n, v := range o.slots {
		if !isMethod(v) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// Set stores a value in an own slot and marks the object changed. Integers
// are stored as int64, float32 as float64, *Object and OID as Ref; maps and
// slices are deep-copied. Unstorable values return a *ValueError; an
// *Object of another transaction, a *ForeignObjectError; parents that would
// make the object its own ancestor, a *ParentCycleError.
func (o *Object) Set(name string, v any) error {
	if err := o.set(name, v); err != nil {
		return err
	}
	o.marked = true
	return nil
}

func (o *Object) set(name string, v any) error {
	if err := o.usable(); err != nil {
		return err
	}
	if err := o.tx.check(true); err != nil {
		return err
	}
	if err := CheckName(name); err != nil {
		return err
	}
	n, err := normalize(name, v, 0, o.tx, "Object.Set")
	if err != nil {
		return err
	}
	if name == ParentsSlot {
		parents, err := parentsOf(n)
		if err != nil {
			return &ValueError{Slot: name, Type: fmt.Sprintf("%T", v), Reason: err.Error()}
		}
		if err := o.tx.checkParentCycle(o, parents); err != nil {
			return err
		}
	}
	if err := o.readName(name); err != nil {
		return err
	}
	if isMethod(n) || isMethod(o.slots[name]) {
		o.dirty |= 1 << bucketOf(name)
	}
	o.slots[name] = n
	o.written = true
	o.toucher = o.tx.context
	return nil
}

// Delete removes an own slot and marks the object changed. Removing a slot
// the object does not have returns ErrSlotNotFound.
func (o *Object) Delete(name string) error {
	if err := o.unset(name); err != nil {
		return err
	}
	o.marked = true
	return nil
}

func (o *Object) unset(name string) error {
	if err := o.usable(); err != nil {
		return err
	}
	if err := o.tx.check(true); err != nil {
		return err
	}
	if err := o.readName(name); err != nil {
		return err
	}
	old, ok := o.slots[name]
	if !ok {
		return fmt.Errorf("%w: object %d has no slot %q", ErrSlotNotFound, o.oid, name)
	}
	if isMethod(old) {
		// Whether any method is left decides the object's layout: read
		// every part.
		if err := o.readAll(); err != nil {
			return err
		}
		o.dirty |= 1 << bucketOf(name)
	}
	delete(o.slots, name)
	o.written = true
	o.toucher = o.tx.context
	return nil
}

// MarkChanged records that the object's state changed, so the commit
// writes it. It is the persistence covenant's mark.
func (o *Object) MarkChanged() {
	if o != nil {
		o.marked = true
	}
}

// Parents returns the OIDs in the object's parents slot, in order.
func (o *Object) Parents() []OID {
	if o.usable() != nil {
		return nil
	}
	p, _ := parentsOf(o.slots[ParentsSlot])
	return p
}

// SetParents replaces the parents slot. Every parent must belong to o's
// transaction (else a *ForeignObjectError), and none may have o among its
// ancestors (else a *ParentCycleError).
func (o *Object) SetParents(parents ...*Object) error {
	if err := o.usable(); err != nil {
		return err
	}
	refs := make([]any, len(parents))
	for i, p := range parents {
		if p == nil {
			return ErrNilObject
		}
		if p.tx != o.tx {
			return &ForeignObjectError{OID: p.oid, Op: "Object.SetParents", Ended: p.tx.done}
		}
		refs[i] = Ref{OID: p.oid}
	}
	return o.Set(ParentsSlot, refs)
}

func parentsOf(v any) ([]OID, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case Ref:
		return []OID{x.OID}, nil
	case []any:
		out := make([]OID, 0, len(x))
		for i, e := range x {
			r, ok := e.(Ref)
			if !ok {
				return nil, fmt.Errorf("parents[%d] is %T, want a Ref", i, e)
			}
			out = append(out, r.OID)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("parents must be a list of Ref, got %T", v)
	}
}
