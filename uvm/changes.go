package uvm

import (
	"fmt"
	"maps"
	"slices"
)

// Change is one change a transaction has made so far: a slot set or
// removed on an object it loaded, a slot of an object it created, or an
// object it deleted.
type Change struct {
	OID     OID
	Slot    string // "" for an object deleted as a whole
	New     bool   // the object was created in this transaction
	Removed bool   // the slot (or, with Slot "", the object) was deleted
}

// String describes the change, such as "object 3: ticks",
// "object 9 (new): name", "object 3: ticks (removed)" or
// "object 9 (deleted)".
func (c Change) String() string {
	switch {
	case c.Slot == "":
		return fmt.Sprintf("object %d (deleted)", c.OID)
	case c.New:
		return fmt.Sprintf("object %d (new): %s", c.OID, c.Slot)
	case c.Removed:
		return fmt.Sprintf("object %d: %s (removed)", c.OID, c.Slot)
	}
	return fmt.Sprintf("object %d: %s", c.OID, c.Slot)
}

// Changes lists what the transaction has changed so far, as a commit now
// would write it, marked or not: objects in load order, slots sorted by
// name. An object whose slots are back to what was loaded is unchanged. A
// dry run about to discard its transaction uses it to say what the
// method it tried would have written.
func (tx *Tx) Changes() []Change {
	if tx.done {
		return nil
	}
	var out []Change
	for _, oid := range tx.order {
		o := tx.objects[oid]
		switch {
		case o.deleted:
			if !o.isNew {
				out = append(out, Change{OID: oid, Removed: true})
			}
		case o.isNew:
			for _, n := range slices.Sorted(maps.Keys(o.slots)) {
				out = append(out, Change{OID: oid, Slot: n, New: true})
			}
		case o.marked || o.exposed || o.written:
			if _, _, changed := o.encode(); changed {
				out = append(out, o.changedSlots()...)
			}
		}
	}
	return out
}

// changedSlots lists every slot whose encoding differs from the one
// loaded (changedSlot names only the first).
func (o *Object) changedSlots() []Change {
	old := map[string]any{}
	for _, part := range append([][]byte{o.orig}, o.origM[:]...) {
		if part == nil {
			continue
		}
		if s, err := decodeObject(o.oid, objKey(o.oid), part); err == nil {
			for n, v := range s {
				if n != methodsMarker {
					old[n] = v
				}
			}
		}
	}
	before, after := slotEncodings(old), slotEncodings(o.slots)
	names := make([]string, 0, len(before)+len(after))
	for n := range before {
		names = append(names, n)
	}
	for n := range after {
		if _, ok := before[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var out []Change
	for _, n := range names {
		b, okb := before[n]
		a, oka := after[n]
		if okb != oka || a != b {
			out = append(out, Change{OID: o.oid, Slot: n, Removed: !oka})
		}
	}
	return out
}
