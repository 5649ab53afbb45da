package uvm

import (
	"errors"
	"fmt"
)

// The parent graph must stay acyclic: a change to an object's parents
// that would make it its own ancestor is refused with a *ParentCycleError.
// Every way of changing parents ends here: Object.Set and SetParents (and
// the Self view generated methods write through, in this process or
// through an isolated worker's write-set) check when the slot is set; the
// commit checks again every object whose parents may have changed in
// place (a parents list handed out by Get or Lookup and then edited) or
// that is new (a Clone copies its prototype's parents). Lookup still
// survives a cycle (images written before this check may hold one).

// checkParentCycle reports a *ParentCycleError if o, given parents, would
// be its own ancestor. Ancestors are read in tx, so a concurrent
// transaction that changes one of them conflicts with this one. Missing
// ancestors are skipped; a damaged one is an error (whether it closes a
// cycle cannot be known).
func (tx *Tx) checkParentCycle(o *Object, parents []OID) error {
	var visited visitedSet
	chain := []OID{o.oid}
	// walk reports whether a path from p leads back to o, leaving that
	// path on chain.
	var walk func(p OID) (bool, error)
	walk = func(p OID) (bool, error) {
		chain = append(chain, p)
		if p == o.oid {
			return true, nil
		}
		if !visited.has(p) {
			visited.add(p)
			po, err := tx.Object(p)
			switch {
			case errors.Is(err, ErrNotFound):
			case err != nil:
				return false, fmt.Errorf("uvm: parent check of object %d: ancestor %d: %w", o.oid, p, err)
			default:
				grand, err := parentsOf(po.slots[ParentsSlot])
				if err != nil {
					return false, &CorruptError{Key: printableKey(objKey(p)), OID: p, Slot: ParentsSlot, Reason: err.Error()}
				}
				for _, g := range grand {
					if found, err := walk(g); found || err != nil {
						return found, err
					}
				}
			}
		}
		chain = chain[:len(chain)-1]
		return false, nil
	}
	for _, p := range parents {
		found, err := walk(p)
		if err != nil {
			return err
		}
		if found {
			return &ParentCycleError{Chain: chain}
		}
	}
	return nil
}

// checkParents checks, before a commit, an object whose parents may have
// changed since the last check: the slot must still hold a list of Ref
// (an in-place edit bypasses Set's check) and must not close a cycle.
func (tx *Tx) checkParents(o *Object) error {
	v, ok := o.slots[ParentsSlot]
	if !ok {
		return nil
	}
	parents, err := parentsOf(v)
	if err != nil {
		return &ValueError{Slot: ParentsSlot, Type: fmt.Sprintf("%T", v), Reason: err.Error() + " (changed in place)"}
	}
	return tx.checkParentCycle(o, parents)
}

// parentsMayHaveChanged reports whether o's parents slot could differ from
// what the last check saw: o is new (Clone copies parents without Set),
// or its parents list was handed out and may have been edited in place.
func (o *Object) parentsMayHaveChanged() bool {
	if o.deleted {
		return false
	}
	if o.isNew {
		return o.slots[ParentsSlot] != nil
	}
	_, list := o.slots[ParentsSlot].([]any)
	return o.exposed && list
}

// checkAllParents runs checkParents on every object of the transaction
// whose parents may have changed, in load order.
func (tx *Tx) checkAllParents() error {
	// Checking loads ancestors, which appends to tx.order; those are
	// unchanged, and the range covers the objects present when it began.
	for _, oid := range tx.order {
		o := tx.objects[oid]
		if !o.parentsMayHaveChanged() {
			continue
		}
		if err := tx.checkParents(o); err != nil {
			return err
		}
	}
	return nil
}
