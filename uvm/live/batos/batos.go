package batos

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/batos-dev/batos/uvm"
)

// Object is the runtime's side of a [Self]: the receiver of one call, as
// the contract describes it (docs/contract.md).
type Object interface {
	OID() uvm.OID
	Get(slot string) any
	Has(slot string) bool
	Set(slot string, value any) error
	Delete(slot string) error
	Send(selector string, args ...any) (any, error)
	MarkChanged()
}

// Self is the value a generated method receives as self. It does what its
// Object does and prints as "batos.Self(object N)" whatever the verb; %T
// prints "batos.Self". Errors from Set, Delete and Send reach the method as
// [Error] values.
type Self struct{ o Object }

// New returns the Self of o.
func New(o Object) Self { return Self{o: o} }

// ObjectOf returns the Object s stands for (nil for the zero Self). It is a
// function, not a method, so interpreted code cannot call it.
func ObjectOf(s Self) Object { return s.o }

// OID returns the object's id.
func (s Self) OID() uvm.OID {
	if s.o == nil {
		return 0
	}
	return s.o.OID()
}

// Get reads a slot (own, else through parents); nil if none.
func (s Self) Get(slot string) any {
	if s.o == nil {
		return nil
	}
	return s.o.Get(slot)
}

// Has reports whether Get would find the slot.
func (s Self) Has(slot string) bool { return s.o != nil && s.o.Has(slot) }

// Set writes an own slot.
func (s Self) Set(slot string, value any) error {
	if s.o == nil {
		return Wrap(errNoObject)
	}
	return Wrap(s.o.Set(slot, value))
}

// Delete removes an own slot.
func (s Self) Delete(slot string) error {
	if s.o == nil {
		return Wrap(errNoObject)
	}
	return Wrap(s.o.Delete(slot))
}

// Send sends a message to the object.
func (s Self) Send(selector string, args ...any) (any, error) {
	if s.o == nil {
		return nil, Wrap(errNoObject)
	}
	v, err := s.o.Send(selector, args...)
	return v, Wrap(err)
}

// MarkChanged marks the object changed (the persistence covenant).
func (s Self) MarkChanged() {
	if s.o != nil {
		s.o.MarkChanged()
	}
}

// Format prints the object's id and nothing of the host, whatever the verb.
func (s Self) Format(f fmt.State, verb rune) { fmt.Fprint(f, s.String()) }

// String agrees with Format.
func (s Self) String() string { return fmt.Sprintf("batos.Self(object %d)", uint64(s.OID())) }

// GoString agrees with Format.
func (s Self) GoString() string { return s.String() }

var errNoObject = errors.New("batos: self stands for no object")

// Error is an error the host hands a generated method: its text, and what
// it is (errors.Is). The error it stands for is not reachable from the
// method (it has no Unwrap or As), so printing it, or anything it wraps,
// shows the text and nothing of the host's types.
type Error struct{ err error }

// Wrap returns err as an Error, or nil for nil. An Error is returned as it
// is.
func Wrap(err error) error {
	if err == nil {
		return nil
	}
	if e, ok := err.(Error); ok {
		return e
	}
	return Error{err: err}
}

// Unwrapped returns the error e stands for. It is a function, not a
// method, so interpreted code cannot call it.
func Unwrapped(e Error) error { return e.err }

// Error returns the text, in the contract's names (see [Text]).
func (e Error) Error() string {
	if e.err == nil {
		return "error"
	}
	return Text(e.err.Error())
}

// Is reports whether the error e stands for is target (errors.Is), so that
// the host still recognises its sentinels in an error a method returns.
func (e Error) Is(target error) bool { return e.err != nil && errors.Is(e.err, target) }

// Format prints the text, whatever the verb.
func (e Error) Format(f fmt.State, verb rune) { fmt.Fprint(f, e.Error()) }

// GoString agrees with Format.
func (e Error) GoString() string { return e.Error() }

// Names rewrites the host's names of the contract's types in a message
// into the contract's: uvm.Ref → batos.Ref, uvm.OID → batos.OID, the
// runtime's Self and Meter → batos.Self and batos.Meter.
func Names(s string) string {
	if !strings.Contains(s, "uvm") && !strings.Contains(s, "live.") && !strings.Contains(s, "batos.Object") {
		return s
	}
	return strings.NewReplacer(
		"github.com/batos-dev/batos/uvm/live/batos.", "batos.",
		"github.com/batos-dev/batos/uvm/live.", "batos.",
		"github.com/batos-dev/batos/uvm.", "batos.",
		"uvm.Self", "batos.Self",
		"uvm.Ref", "batos.Ref",
		"uvm.OID", "batos.OID",
		"batos.Object", "batos.Self",
		"live.Self", "batos.Self",
		"live.Meter", "batos.Meter",
	).Replace(s)
}

// Text rewrites a host error's message for a model: [Names], and the
// package prefixes of the host's errors ("uvm: ", "live: ", …) dropped
// where the message or a wrapped cause begins.
func Text(s string) string {
	s = Names(s)
	var b strings.Builder
	start := true // at the beginning of a message or of a wrapped cause
	for i := 0; i < len(s); {
		if start {
			if n := hostPrefix(s[i:]); n > 0 {
				i += n
				continue
			}
		}
		c := s[i]
		b.WriteByte(c)
		i++
		start = c == '\n' || (c == ' ' && i >= 2 && s[i-2] == ':')
	}
	return b.String()
}

// hostPrefix returns the length of the host package prefix s starts with,
// or 0.
func hostPrefix(s string) int {
	for _, p := range []string{"uvm: ", "live: ", "psm: ", "guardian: ", "persona: ", "memory: ", "batos: "} {
		if strings.HasPrefix(s, p) {
			return len(p)
		}
	}
	return 0
}

// Clip shortens s to about n bytes by eliding its middle, keeping
// its beginning (what failed) and its end (the root cause), on rune
// boundaries.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	head, tail := n/3, n-n/3
	for head > 0 && !utf8.RuneStart(s[head]) {
		head--
	}
	from := len(s) - tail
	for from < len(s) && !utf8.RuneStart(s[from]) {
		from++
	}
	return s[:head] + " … (" + strconv.Itoa(from-head) + " bytes elided) … " + s[from:]
}
