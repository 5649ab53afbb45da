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
	origM   [methodBuckets][]byte // method buckets as loaded; nil where none
	legacy  bool                  // loaded in layout 1: methods inside the data part
	methSet bool                  // a method slot was set or deleted: re-encode the buckets
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
		return nil, false // unreachable: the encoding was checked at load
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

// IsBehaviour reports whether an own slot holds behaviour (a Method or a
// Primitive) rather than data, without decoding it.
func (o *Object) IsBehaviour(name string) bool {
	if o.usable() != nil {
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
	_, ok := o.slots[name]
	return ok
}

// Slots returns the names of the object's own slots, sorted.
func (o *Object) Slots() []string {
	if o.usable() != nil {
		return nil
	}
	names := make([]string, 0, len(o.slots))
	for n := range o.slots {
		names = append(names, n)
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
	if isMethod(n) || isMethod(o.slots[name]) {
		o.methSet = true
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
	old, ok := o.slots[name]
	if !ok {
		return fmt.Errorf("%w: object %d has no slot %q", ErrSlotNotFound, o.oid, name)
	}
	o.methSet = o.methSet || isMethod(old)
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
