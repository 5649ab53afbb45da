package uvm

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
)

// PrimitiveFunc is a native Go method. It runs inside the sender's
// transaction (c.Tx) and must not keep c or anything from it after it returns.
type PrimitiveFunc func(ctx context.Context, c *Call) (any, error)

// MethodRunner runs methods stored as Go source; uvm stores the source and
// never compiles it (batos's uvm/live package is one runner). Run is
// called inside the sender's transaction, with c.Method set.
type MethodRunner interface {
	Run(ctx context.Context, c *Call) (any, error)
}

// DoesNotUnderstand receives a message that nothing in the receiver's
// delegation chain answers. Its answer (or error) becomes the answer of
// Send. It runs inside the sender's transaction (msg.Tx); an implementation
// that changes the image in transactions of its own must expect the
// sender's transaction to conflict and be retried by Update, or restart it
// with [Tx.Restart] so that it sees the change.
type DoesNotUnderstand interface {
	DoesNotUnderstand(ctx context.Context, msg *Message) (any, error)
}

// Message is a send that nobody understood.
type Message struct {
	Tx       *Tx
	Receiver *Object
	Selector string
	Args     []any
	Depth    int // how many sends are nested around this one
}

// Call is one method activation.
type Call struct {
	Tx       *Tx
	Receiver *Object // the object the message was sent to
	Holder   *Object // the object whose slot held the method
	Selector string
	Args     []any
	Method   *Method // the source method, for a MethodRunner; nil for primitives
}

// Found is the result of a lookup.
type Found struct {
	Holder *Object
	Value  any
}

// RegisterPrimitive makes a native Go method available under a name; slots
// refer to it with Primitive{Name: name}. Registering a name again replaces it.
func (im *Image) RegisterPrimitive(name string, fn PrimitiveFunc) error {
	if err := CheckName(name); err != nil {
		return err
	}
	if fn == nil {
		return fmt.Errorf("uvm: register primitive %q: nil function", name)
	}
	im.primMu.Lock()
	defer im.primMu.Unlock()
	im.primitives[name] = fn
	return nil
}

func (im *Image) primitive(name string) (PrimitiveFunc, bool) {
	im.primMu.RLock()
	defer im.primMu.RUnlock()
	fn, ok := im.primitives[name]
	return fn, ok
}

// Lookup finds the slot that answers selector for o: o's own slots first,
// then each parent in order, depth-first, visiting each object once (so a
// cycle in the parent graph ends). When two parents of one object (o or
// any of its ancestors) lead to different holders, the lookup is ambiguous
// and returns an *AmbiguousError; resend through one of the holders with
// SendVia. A selector found nowhere returns a *NotUnderstoodError.
func (tx *Tx) Lookup(o *Object, selector string) (Found, error) {
	if err := o.usableIn(tx, "Tx.Lookup"); err != nil {
		return Found{}, err
	}
	return tx.lookupFrom(o, o, selector)
}

// lookupFrom looks selector up starting at start, for a message sent to
// recv (start is recv, or an ancestor of it for SendVia): errors name recv.
func (tx *Tx) lookupFrom(recv, start *Object, selector string) (Found, error) {
	var vs visitedSet
	h, v, err := tx.search(start, selector, &vs)
	if err != nil {
		if amb, ok := err.(*AmbiguousError); ok {
			amb.Receiver = recv.oid
		}
		return Found{}, err
	}
	if h == nil {
		return Found{}, &NotUnderstoodError{Receiver: recv.oid, Selector: selector}
	}
	if isContainer(v) { // handed out as stored: an in-place change must be marked
		h.exposed = true
		h.toucher = tx.context
	}
	return Found{Holder: h, Value: v}, nil
}

// visitedSet records the objects a lookup has visited: a linear scan of a
// small inline array (no allocation for chains of up to 16), a map beyond.
type visitedSet struct {
	small [16]OID
	n     int
	big   map[OID]struct{}
}

func (s *visitedSet) has(oid OID) bool {
	if s.big != nil {
		_, ok := s.big[oid]
		return ok
	}
	for _, v := range s.small[:s.n] {
		if v == oid {
			return true
		}
	}
	return false
}

func (s *visitedSet) add(oid OID) {
	if s.big == nil && s.n < len(s.small) {
		s.small[s.n] = oid
		s.n++
		return
	}
	if s.big == nil {
		s.big = make(map[OID]struct{}, 2*len(s.small))
		for _, v := range s.small[:s.n] {
			s.big[v] = struct{}{}
		}
	}
	s.big[oid] = struct{}{}
}

func (tx *Tx) search(o *Object, sel string, visited *visitedSet) (*Object, any, error) {
	visited.add(o.oid)
	if v, ok, err := o.slot(sel); ok || err != nil {
		return o, v, err
	}
	var one [1]any
	var parents []any
	switch x := o.slots[ParentsSlot].(type) {
	case nil:
	case Ref:
		one[0] = x
		parents = one[:]
	case []any:
		parents = x
	default:
		return nil, nil, &CorruptError{Key: printableKey(objKey(o.oid)), OID: o.oid, Slot: ParentsSlot, Reason: fmt.Sprintf("parents must be a list of Ref, got %T", x)}
	}
	var holder *Object
	var value any
	for i, e := range parents {
		r, ok := e.(Ref)
		if !ok {
			return nil, nil, &CorruptError{Key: printableKey(objKey(o.oid)), OID: o.oid, Slot: ParentsSlot, Reason: fmt.Sprintf("parents[%d] is %T, want a Ref", i, e)}
		}
		p := r.OID
		if visited.has(p) {
			continue
		}
		po, err := tx.Object(p)
		if err != nil {
			return nil, nil, fmt.Errorf("uvm: parent %d of object %d: %w", p, o.oid, err)
		}
		h, v, err := tx.search(po, sel, visited)
		if err != nil {
			return nil, nil, err
		}
		if h == nil {
			continue
		}
		if holder != nil && h != holder {
			return nil, nil, &AmbiguousError{Receiver: o.oid, Fork: o.oid, Selector: sel, Holders: []OID{holder.oid, h.oid}}
		}
		holder, value = h, v
	}
	return holder, value, nil
}

// Send looks selector up from o and activates what it finds, inside this
// transaction:
//   - a Primitive slot calls the registered native function;
//   - a Method slot is run by Options.Runner;
//   - a data slot answers its value (a copy), when sent with no arguments.
//
// A selector nothing answers goes to Options.DoesNotUnderstand, or fails
// with a *NotUnderstoodError.
func (tx *Tx) Send(ctx context.Context, o *Object, selector string, args ...any) (any, error) {
	const op = "Tx.Send"
	if err := o.usableIn(tx, op); err != nil {
		return nil, err
	}
	f, err := tx.Lookup(o, selector)
	if err != nil {
		if _, ok := err.(*NotUnderstoodError); ok {
			return tx.notUnderstood(ctx, op, o, selector, args)
		}
		return nil, err
	}
	return tx.activate(ctx, op, o, f, selector, args)
}

// Run activates method m on o directly, as if o's own slot held it, in
// this transaction, without a lookup. A DoesNotUnderstand hook can use it
// to answer its message with a method it has just committed in a
// transaction of its own, which the sender's snapshot predates.
func (tx *Tx) Run(ctx context.Context, o *Object, m Method, args ...any) (any, error) {
	const op = "Tx.Run"
	if err := o.usableIn(tx, op); err != nil {
		return nil, err
	}
	return tx.activate(ctx, op, o, Found{Holder: o, Value: m}, m.Selector, args)
}

// SendVia resends a message through one ancestor of o, the way to settle
// an ambiguous send: the lookup starts at ancestor (its own slots, then its
// parents) instead of at o, and the method runs with o as its receiver.
// The ancestor may be a parent of o, a parent's parent, and so on: any
// object reachable from o through parents slots (missing objects on the
// way are skipped). The Holders of an *AmbiguousError are always such
// ancestors, so resending through one of them settles the ambiguity however
// far up it arose. An object that is not an ancestor of o returns an error
// wrapping ErrNotParent.
func (tx *Tx) SendVia(ctx context.Context, o *Object, ancestor OID, selector string, args ...any) (any, error) {
	const op = "Tx.SendVia"
	if err := o.usableIn(tx, op); err != nil {
		return nil, err
	}
	po, err := tx.ancestor(o, ancestor)
	if err != nil {
		return nil, err
	}
	f, err := tx.lookupFrom(o, po, selector)
	if err != nil {
		if _, ok := err.(*NotUnderstoodError); ok {
			return tx.notUnderstood(ctx, op, o, selector, args)
		}
		return nil, err
	}
	return tx.activate(ctx, op, o, f, selector, args)
}

// ancestor returns the object oid if it is reachable from o through
// parents slots, searching depth-first in parent order. Parents that no
// longer exist are skipped; a damaged parents slot is a *CorruptError.
func (tx *Tx) ancestor(o *Object, oid OID) (*Object, error) {
	var visited visitedSet
	stack := []*Object{o}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		parents, err := parentsOf(cur.slots[ParentsSlot])
		if err != nil {
			return nil, &CorruptError{Key: printableKey(objKey(cur.oid)), OID: cur.oid, Slot: ParentsSlot, Reason: err.Error()}
		}
		// Push in reverse so the first parent is searched first.
		for i := len(parents) - 1; i >= 0; i-- {
			p := parents[i]
			if visited.has(p) {
				continue
			}
			visited.add(p)
			po, err := tx.Object(p)
			if errors.Is(err, ErrNotFound) && p != oid {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("uvm: parent %d of object %d: %w", p, cur.oid, err)
			}
			if p == oid {
				return po, nil
			}
			stack = append(stack, po)
		}
	}
	return nil, fmt.Errorf("%w: object %d is not an ancestor of object %d", ErrNotParent, oid, o.oid)
}

func (tx *Tx) notUnderstood(ctx context.Context, op string, o *Object, selector string, args []any) (any, error) {
	h := tx.im.opts.DoesNotUnderstand
	if h == nil {
		return nil, &NotUnderstoodError{Receiver: o.oid, Selector: selector}
	}
	nargs, err := tx.normalizeArgs(op, args)
	if err != nil {
		return nil, err
	}
	return h.DoesNotUnderstand(ctx, &Message{Tx: tx, Receiver: o, Selector: selector, Args: nargs, Depth: tx.depth})
}

// normalizeArgs converts a send's arguments to stored form; an *Object
// argument must belong to tx.
func (tx *Tx) normalizeArgs(op string, args []any) ([]any, error) {
	out := make([]any, len(args))
	for i, a := range args {
		n, err := normalize(fmt.Sprintf("argument %d", i), a, 0, tx, op)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

func (tx *Tx) activate(ctx context.Context, op string, o *Object, f Found, selector string, args []any) (res any, err error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("uvm: send %q to object %d: %w", selector, o.oid, err)
	}
	if tx.depth >= tx.im.opts.MaxSendDepth {
		return nil, fmt.Errorf("%w: %d nested sends, at %q to object %d", ErrTooDeep, tx.depth, selector, o.oid)
	}
	nargs, err := tx.normalizeArgs(op, args)
	if err != nil {
		return nil, err
	}
	call := &Call{Tx: tx, Receiver: o, Holder: f.Holder, Selector: selector, Args: nargs}
	tx.depth++
	defer func() { tx.depth-- }()
	switch v := f.Value.(type) {
	case Primitive:
		fn, ok := tx.im.primitive(v.Name)
		if !ok {
			return nil, fmt.Errorf("%w: %q (slot %q of object %d)", ErrNoPrimitive, v.Name, selector, f.Holder.oid)
		}
		defer func() {
			if r := recover(); r != nil {
				err = &PanicError{Value: fmt.Sprintf("primitive %q: %s", v.Name, describePanic(r)), Stack: string(debug.Stack())}
			}
		}()
		return fn(ctx, call)
	case Method:
		if tx.im.opts.Runner == nil {
			return nil, fmt.Errorf("%w: method %q v%d of object %d", ErrNoRunner, selector, v.Version, f.Holder.oid)
		}
		call.Method = &v
		prev := tx.context
		tx.context = fmt.Sprintf("%s v%d", v.Selector, v.Version)
		defer func() { tx.context = prev }()
		return tx.im.opts.Runner.Run(ctx, call)
	default:
		if len(args) > 0 {
			return nil, fmt.Errorf("%w: %q of object %d, sent with %d arguments", ErrNotMethod, selector, f.Holder.oid, len(args))
		}
		return deepCopy(v), nil
	}
}

// Send sends a message to the object oid in its own Update transaction and
// returns the answer. It commits what the method did.
func (im *Image) Send(ctx context.Context, oid OID, selector string, args ...any) (any, error) {
	var res any
	err := im.Update(ctx, func(tx *Tx) error {
		o, err := tx.Object(oid)
		if err != nil {
			return err
		}
		res, err = tx.Send(ctx, o, selector, args...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Self is the narrow view of an object that a MethodRunner hands to a
// method stored as source (docs/contract.md states what such a method may
// do with it). Get and Has look through the delegation chain; Set and
// Delete write own slots and, unlike Object.Set, do not mark the object: a
// method must call MarkChanged itself, or its commit fails with ErrCovenant.
type Self interface {
	OID() uint64
	Get(slot string) any
	Has(slot string) bool
	Set(slot string, value any) error
	Delete(slot string) error
	Send(selector string, args ...any) (any, error)
	MarkChanged()
}

// Self returns the narrow view of the receiver for a method stored as
// source. Its Send uses ctx.
func (c *Call) Self(ctx context.Context) Self { return &selfView{ctx: ctx, o: c.Receiver} }

type selfView struct {
	ctx context.Context
	o   *Object
}

func (s *selfView) OID() uint64 { return uint64(s.o.oid) }

func (s *selfView) lookup(slot string) (Found, bool) {
	f, err := s.o.tx.Lookup(s.o, slot)
	if err != nil {
		return Found{}, false
	}
	switch f.Value.(type) {
	case Method, Primitive:
		return Found{}, false // behaviour, not data
	}
	return f, true
}

func (s *selfView) Get(slot string) any {
	f, ok := s.lookup(slot)
	if !ok {
		return nil
	}
	if isContainer(f.Value) {
		f.Holder.exposed = true
		f.Holder.toucher = s.o.tx.context
	}
	return f.Value
}

func (s *selfView) Has(slot string) bool { _, ok := s.lookup(slot); return ok }

func (s *selfView) Set(slot string, v any) error { return s.o.set(slot, v) }

func (s *selfView) Delete(slot string) error { return s.o.unset(slot) }

func (s *selfView) Send(selector string, args ...any) (any, error) {
	return s.o.tx.Send(s.ctx, s.o, selector, args...)
}

func (s *selfView) MarkChanged() { s.o.MarkChanged() }
