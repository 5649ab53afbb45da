package psm

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/batos-dev/batos/uvm"
)

// Generation says what becomes of a message an object does not
// understand.
type Generation string

// The generation policies.
const (
	// GenerateAuto starts a cognitive cycle that writes, validates and
	// installs the method, and answers the message with it.
	GenerateAuto Generation = "auto"
	// GenerateApprove runs the cycle to the end of VALIDATING, then parks
	// it in AWAITING_APPROVAL until a person decides (Mind.Approve,
	// Mind.Reject, Mind.Edit); the send fails with an *ApprovalError.
	GenerateApprove Generation = "approve"
	// GenerateNever writes nothing: the send fails at once with a
	// *NotUnderstoodError, and no model is asked.
	GenerateNever Generation = "never"
)

// Slots that hold the generation policy. They are ordinary slots, found
// through delegation like any other: traits holds the image-wide policy,
// and any object may hold its own, for itself and its descendants.
const (
	// SlotGeneration holds a Generation, as a string.
	SlotGeneration = "generation"
	// SlotAllowNearMisses holds a bool: true lets a cycle write a method
	// for a selector near one the object already answers (see Policy).
	SlotAllowNearMisses = "allow_near_misses"
)

// Policy is the generation policy of an object: whether its unknown
// messages become methods, and whether near misses do.
//
// Before a cycle starts, a selector within a small edit distance of one
// the receiver already answers ("gret" when it answers greet, "nmae"
// when it answers name) is taken for a typo and refused with a
// *NotUnderstoodError that says "did you mean …", unless AllowNearMisses
// is set. A typo is counted in edits: a character left out, added or
// doubled, two neighbours swapped, a letter's case, or a key next to the
// right letter on a QWERTY keyboard hit instead; any other substitution
// counts as two edits (so "inner" is no typo of "infer", nor "close" of
// "clone", nor "greet_2" of "greet_1"). The edits allowed grow with the selector's length: none
// under 4 bytes, one under 8, two from 8 on. A selector that is one of
// the receiver's persona facets is never a near miss.
type Policy struct {
	// Generation is the mode; "" means GenerateAuto.
	Generation Generation
	// AllowNearMisses turns the typo guard off.
	AllowNearMisses bool
}

func (p Policy) check() error {
	switch p.Generation {
	case "", GenerateAuto, GenerateApprove, GenerateNever:
		return nil
	}
	return fmt.Errorf("%w: generation %q, want %q, %q or %q", ErrPolicy, p.Generation, GenerateAuto, GenerateApprove, GenerateNever)
}

// set writes the policy into o's own slots.
func (p Policy) set(o *uvm.Object) error {
	if err := p.check(); err != nil {
		return err
	}
	g := cmp.Or(p.Generation, GenerateAuto)
	if err := o.Set(SlotGeneration, string(g)); err != nil {
		return err
	}
	return o.Set(SlotAllowNearMisses, p.AllowNearMisses)
}

// Policy returns the generation policy of the object oid, as found
// through its delegation chain: its own slots, its ancestors', else the
// image-wide policy on traits.
func (m *Mind) Policy(ctx context.Context, oid uvm.OID) (Policy, error) {
	if err := m.enter(); err != nil {
		return Policy{}, err
	}
	defer m.leave()
	var p Policy
	err := m.im.View(ctx, func(tx *uvm.Tx) error {
		o, err := tx.Object(oid)
		if err != nil {
			return err
		}
		p, err = policyOf(tx, o)
		return err
	})
	if err != nil {
		return Policy{}, fmt.Errorf("psm: policy of object %d: %w", oid, err)
	}
	return p, nil
}

// SetPolicy gives the object oid its own generation policy, for it and
// every object that delegates to it without a policy of its own; set on
// traits (Mind.Root(ctx, RootTraits)) it is the image-wide policy.
func (m *Mind) SetPolicy(ctx context.Context, oid uvm.OID, p Policy) error {
	if err := m.enter(); err != nil {
		return err
	}
	defer m.leave()
	err := m.im.Update(ctx, func(tx *uvm.Tx) error {
		o, err := tx.Object(oid)
		if err != nil {
			return err
		}
		return p.set(o)
	})
	if err != nil {
		return fmt.Errorf("psm: set the policy of object %d: %w", oid, err)
	}
	return nil
}

// incarnatePolicy writes the image-wide policy on traits: at the
// awakening (opts.Policy, defaults filled), when an older image is
// upgraded (the defaults, unless traits has slots of its own), and at
// any open whose options name one.
func incarnatePolicy(tx *uvm.Tx, p Policy, always bool) error {
	traits, err := tx.Root(RootTraits)
	if err != nil {
		return err
	}
	if !always && traits.Has(SlotGeneration) && traits.Has(SlotAllowNearMisses) {
		return nil
	}
	return p.set(traits)
}

// policyOf reads o's generation policy through its delegation chain; an
// object whose chain holds none gets the policy on traits, and an image
// with none there the defaults.
func policyOf(tx *uvm.Tx, o *uvm.Object) (Policy, error) {
	var p Policy
	gen, err := inherited(tx, o, SlotGeneration)
	if err != nil {
		return p, err
	}
	switch v := gen.value.(type) {
	case nil:
		p.Generation = GenerateAuto
	case string:
		p.Generation = Generation(v)
		if err := p.check(); err != nil || v == "" {
			return p, fmt.Errorf("%w: slot %q of object %d holds %q, want %q, %q or %q", ErrPolicy, SlotGeneration, gen.holder, v, GenerateAuto, GenerateApprove, GenerateNever)
		}
	default:
		return p, fmt.Errorf("%w: slot %q of object %d holds %T, want a string", ErrPolicy, SlotGeneration, gen.holder, v)
	}
	near, err := inherited(tx, o, SlotAllowNearMisses)
	if err != nil {
		return p, err
	}
	switch v := near.value.(type) {
	case nil:
	case bool:
		p.AllowNearMisses = v
	default:
		return p, fmt.Errorf("%w: slot %q of object %d holds %T, want a bool", ErrPolicy, SlotAllowNearMisses, near.holder, v)
	}
	return p, nil
}

type found struct {
	holder uvm.OID
	value  any // nil when nothing holds the slot
}

// inherited looks slot up from o, falling back to traits' own slot.
func inherited(tx *uvm.Tx, o *uvm.Object, slot string) (found, error) {
	f, err := tx.Lookup(o, slot)
	if err == nil {
		return found{holder: f.Holder.OID(), value: f.Value}, nil
	}
	if !errors.Is(err, uvm.ErrNotUnderstood) {
		return found{}, fmt.Errorf("%w: slot %q of object %d: %w", ErrPolicy, slot, o.OID(), err)
	}
	traits, err := tx.Root(RootTraits)
	if err != nil {
		return found{}, nil
	}
	v, _ := traits.Get(slot)
	return found{holder: traits.OID(), value: v}, nil
}

// nearMisses returns up to three selectors that o answers (its own slots
// and its ancestors', but not parents) within the typo guard's distance
// of selector, nearest first.
func nearMisses(tx *uvm.Tx, o *uvm.Object, selector string) []string {
	limit := nearMissLimit(len(selector))
	if limit == 0 {
		return nil
	}
	type miss struct {
		sel  string
		dist int
	}
	var misses []miss
	seen := map[string]bool{uvm.ParentsSlot: true, selector: true}
	visited := map[uvm.OID]bool{}
	todo := []*uvm.Object{o}
	for len(todo) > 0 {
		x := todo[0]
		todo = todo[1:]
		if visited[x.OID()] {
			continue
		}
		visited[x.OID()] = true
		for _, s := range x.Slots() {
			if seen[s] {
				continue
			}
			seen[s] = true
			if d := editDistance(selector, s, limit); d <= limit {
				misses = append(misses, miss{s, d})
			}
		}
		for _, p := range x.Parents() {
			if po, err := tx.Object(p); err == nil {
				todo = append(todo, po)
			}
		}
	}
	slices.SortFunc(misses, func(a, b miss) int {
		return cmp.Or(cmp.Compare(a.dist, b.dist), strings.Compare(a.sel, b.sel))
	})
	out := make([]string, 0, 3)
	for _, x := range misses[:min(len(misses), 3)] {
		out = append(out, x.sel)
	}
	return out
}

// nearMissLimit is the edit distance under which a selector of n bytes
// is taken for a typo.
func nearMissLimit(n int) int {
	switch {
	case n < 4:
		return 0
	case n < 8:
		return 1
	}
	return 2
}

// editDistance is the optimal string alignment distance between a and b
// in typing errors (insertions, deletions, swaps of neighbours, and
// substitutions by typoCost, on bytes), or limit+1 when it exceeds limit.
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d > limit || -d > limit {
		return limit + 1
	}
	// A common prefix or suffix costs nothing: an optimal alignment
	// matches it byte for byte. Selectors often share one ("answer_…").
	for len(a) > 0 && len(b) > 0 && a[0] == b[0] {
		a, b = a[1:], b[1:]
	}
	for len(a) > 0 && len(b) > 0 && a[len(a)-1] == b[len(b)-1] {
		a, b = a[:len(a)-1], b[:len(b)-1]
	}
	// Only cells within limit of the diagonal can stay within limit
	// (each step off it costs an insertion or a deletion): the others
	// hold inf. The rows rotate, so each row first resets the cells at
	// its band's edges that the next row reads.
	inf := limit + 1
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = min(j, inf)
	}
	for i := 1; i <= len(a); i++ {
		lo, hi := max(1, i-limit), min(len(b), i+limit)
		cur[lo-1] = inf
		if lo == 1 {
			cur[0] = min(i, inf)
		}
		best := cur[lo-1]
		for j := lo; j <= hi; j++ {
			c := min(prev[j]+1, cur[j-1]+1, prev[j-1]+typoCost(a[i-1], b[j-1]))
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				c = min(c, prev2[j-2]+1)
			}
			cur[j] = min(c, inf)
			best = min(best, cur[j])
		}
		if hi < len(b) {
			cur[hi+1] = inf
		}
		if best > limit {
			return inf
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(b)], inf)
}

// screen decides, before a cycle starts for msg, whether one may: not
// when a method for it awaits approval already, when the selector is a
// near miss (and not a facet, whose intent says it is meant), or when
// the receiver's generation policy is GenerateNever. A near miss is
// named under any policy: "did you mean" helps more than "never". The
// sender's transaction is read first, and parked (uvm.Tx.Park) before the
// approval index is read in another.
func (m *Mind) screen(ctx context.Context, msg *uvm.Message, intent string) error {
	key := flightKey{oid: msg.Receiver.OID(), sel: msg.Selector}
	refused, err := screenPolicy(msg, intent)
	if err != nil {
		return err
	}
	msg.Tx.Park()
	if id, ok, err := m.pendingCycle(ctx, key); err != nil {
		return err
	} else if ok {
		return &ApprovalError{CycleID: id, Receiver: key.oid, Selector: key.sel}
	}
	return refused
}

// screenPolicy is screen's part read in the sender's transaction: the
// refusal under the receiver's policy (a *NotUnderstoodError), if any.
func screenPolicy(msg *uvm.Message, intent string) (refused, err error) {
	key := flightKey{oid: msg.Receiver.OID(), sel: msg.Selector}
	p, err := policyOf(msg.Tx, msg.Receiver)
	if err != nil {
		return nil, err
	}
	if !p.AllowNearMisses && intent == "" {
		if near := nearMisses(msg.Tx, msg.Receiver, msg.Selector); len(near) > 0 {
			return &NotUnderstoodError{Receiver: key.oid, Selector: key.sel, Policy: p.Generation, DidYouMean: near}, nil
		}
	}
	if p.Generation == GenerateNever {
		return &NotUnderstoodError{Receiver: key.oid, Selector: key.sel, Policy: p.Generation}, nil
	}
	return nil, nil
}

// typoCost is what typing x instead of y costs: nothing for the same
// byte, one edit for the other case of a letter or a neighbouring
// letter's key, two (a deletion and an insertion) otherwise: digits,
// which number things on purpose, included.
func typoCost(x, y byte) int {
	if x == y {
		return 0
	}
	lx, ly := lower(x), lower(y)
	if lx == ly {
		return 1
	}
	rx, ix := keyAt(lx)
	ry, iy := keyAt(ly)
	if rx < 0 || ry < 0 {
		return 2
	}
	switch ry - rx {
	case 0:
		if ix-iy == 1 || iy-ix == 1 {
			return 1
		}
	case 1: // y a row below x: under x, or under x's left neighbour
		if iy == ix || iy == ix-1 {
			return 1
		}
	case -1:
		if ix == iy || ix == iy-1 {
			return 1
		}
	}
	return 2
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// keyAt finds a letter on a QWERTY keyboard: its row, and its place in
// the row (each row sits half a key to the right of the one above).
func keyAt(c byte) (row, col int) {
	for r, keys := range [...]string{"qwertyuiop", "asdfghjkl", "zxcvbnm"} {
		if i := strings.IndexByte(keys, c); i >= 0 {
			return r, i
		}
	}
	return -1, -1
}
