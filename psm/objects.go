package psm

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/uvm"
)

// New creates an object, commits it and returns its OID. Its parents are
// the objects given, in order, followed by traits when none of them
// delegates to traits already; with no parents it is a child of traits.
// Either way it answers clone and the image's generation policy reaches
// it through traits. A parent that does not exist is an error wrapping
// uvm.ErrNotFound that names it.
func (m *Mind) New(ctx context.Context, parents ...uvm.OID) (uvm.OID, error) {
	if err := m.enter(); err != nil {
		return 0, err
	}
	defer m.leave()
	var oid uvm.OID
	err := m.im.Update(ctx, func(tx *uvm.Tx) error {
		traits, err := tx.Root(RootTraits)
		if err != nil {
			return err
		}
		ps := make([]*uvm.Object, 0, len(parents)+1)
		for _, p := range parents {
			o, err := tx.Object(p)
			if err != nil {
				return fmt.Errorf("parent %d: %w", p, err)
			}
			ps = append(ps, o)
		}
		if !reaches(tx, parents, traits.OID()) {
			ps = append(ps, traits)
		}
		o, err := tx.New()
		if err != nil {
			return err
		}
		oid = o.OID()
		return o.SetParents(ps...)
	})
	if err != nil {
		return 0, fmt.Errorf("psm: new object: %w", err)
	}
	return oid, nil
}

// Clone creates a copy of the object oid, commits it and returns its OID:
// its own slots, parents and current methods are copied (deeply), as
// traits' clone primitive does, without a message being sent, so an
// object that overrides clone is still copied this way. The method
// history stays with the original.
func (m *Mind) Clone(ctx context.Context, oid uvm.OID) (uvm.OID, error) {
	if err := m.enter(); err != nil {
		return 0, err
	}
	defer m.leave()
	var out uvm.OID
	err := m.im.Update(ctx, func(tx *uvm.Tx) error {
		o, err := tx.Object(oid)
		if err != nil {
			return err
		}
		c, err := tx.Clone(o)
		if err != nil {
			return err
		}
		out = c.OID()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("psm: clone object %d: %w", oid, err)
	}
	return out, nil
}

// Root returns the OID of the object registered under a root name, such
// as RootGenesis, RootTraits, RootKnowledge, StateRoot(Idle) or a
// persona's (persona.RootName). A name nothing is registered under is an
// error wrapping uvm.ErrNotFound.
func (m *Mind) Root(ctx context.Context, name string) (uvm.OID, error) {
	if err := m.enter(); err != nil {
		return 0, err
	}
	defer m.leave()
	var oid uvm.OID
	err := m.im.View(ctx, func(tx *uvm.Tx) error {
		o, err := tx.Root(name)
		if err != nil {
			return err
		}
		oid = o.OID()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("psm: root %q: %w", name, err)
	}
	return oid, nil
}

// SendVia sends a message to oid with the lookup starting at via, one of
// oid's ancestors, instead of at oid itself; the method found runs with
// oid as its receiver. It settles an ambiguous send (a *uvm.AmbiguousError
// names the holders to resend through) and reaches a parent's method
// that oid overrides. Like Send, it runs in its own transaction, and a
// selector nothing answers from via starts a cognitive cycle for oid. An
// object via that is not an ancestor of oid is an error wrapping
// uvm.ErrNotParent.
func (m *Mind) SendVia(ctx context.Context, oid, via uvm.OID, selector string, args ...any) (any, error) {
	if err := m.enter(); err != nil {
		return nil, err
	}
	m.leave() // the cycle, if any, holds the mind open itself
	var res any
	err := m.im.Update(ctx, func(tx *uvm.Tx) error {
		o, err := tx.Object(oid)
		if err != nil {
			return err
		}
		res, err = tx.SendVia(ctx, o, via, selector, args...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// reaches reports whether target is one of oids or reachable from them
// through parents slots (missing objects are skipped).
func reaches(tx *uvm.Tx, oids []uvm.OID, target uvm.OID) bool {
	seen := map[uvm.OID]bool{}
	todo := slices.Clone(oids)
	for len(todo) > 0 {
		oid := todo[0]
		todo = todo[1:]
		if oid == target {
			return true
		}
		if seen[oid] {
			continue
		}
		seen[oid] = true
		o, err := tx.Object(oid)
		if err != nil {
			continue
		}
		todo = append(todo, o.Parents()...)
	}
	return false
}

// primordialRoots are the roots of the primordial objects a user can send
// to, besides genesis, which delegates to traits from the awakening on.
func primordialRoots(tx *uvm.Tx) ([]string, error) {
	roots := []string{RootLLM, RootOrchestrator, RootKnowledge}
	for _, s := range States() {
		roots = append(roots, StateRoot(s))
	}
	names, err := persona.Names(tx)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		roots = append(roots, persona.RootName(n))
	}
	return roots, nil
}

// delegateToTraits makes every primordial object delegate to traits: one
// that does not reach traits through its parents gets traits as its last
// parent. Traits itself keeps no parents.
func delegateToTraits(tx *uvm.Tx) error {
	traits, err := tx.Root(RootTraits)
	if err != nil {
		return err
	}
	roots, err := primordialRoots(tx)
	if err != nil {
		return err
	}
	for _, name := range roots {
		o, err := tx.Root(name)
		if errors.Is(err, uvm.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if o.OID() == traits.OID() || reaches(tx, o.Parents(), traits.OID()) {
			continue
		}
		ps := make([]any, 0, len(o.Parents())+1)
		for _, p := range o.Parents() {
			ps = append(ps, uvm.Ref{OID: p})
		}
		if err := o.Set(uvm.ParentsSlot, append(ps, traits.Ref())); err != nil {
			return fmt.Errorf("root %q: %w", name, err)
		}
	}
	return nil
}

// upgradeTo3 makes an image of version 1 or 2 one of version 3: every
// primordial object delegates to traits, and traits holds the default
// generation policy unless it has one.
func upgradeTo3(tx *uvm.Tx) error {
	if err := delegateToTraits(tx); err != nil {
		return err
	}
	return incarnatePolicy(tx, Policy{}, false)
}
