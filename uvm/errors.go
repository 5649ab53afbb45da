package uvm

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Each is returned (usually wrapped in a richer typed error
// that errors.Is matches) when the condition in its comment holds.
var (
	// ErrClosed is returned when an operation is attempted on a closed Image.
	ErrClosed = errors.New("uvm: image is closed")
	// ErrLocked is returned by Open when another Image (in this or another
	// process) already has the directory open.
	ErrLocked = errors.New("uvm: image directory is locked by another open image")
	// ErrNotFound is returned when an object, root, record, blob or method
	// version does not exist.
	ErrNotFound = errors.New("uvm: not found")
	// ErrSlotNotFound is returned when an own slot to delete or read does not exist.
	ErrSlotNotFound = errors.New("uvm: slot not found")
	// ErrBadName is returned for an empty name, one over MaxNameLen bytes, or
	// one holding invalid UTF-8 or control characters.
	ErrBadName = errors.New("uvm: invalid name")
	// ErrUnstorable is returned when a value cannot be kept in a slot
	// (channels, funcs, structs other than the uvm value types, cycles).
	ErrUnstorable = errors.New("uvm: value cannot be stored")
	// ErrNilObject is returned when a nil *Object is passed where an object is required.
	ErrNilObject = errors.New("uvm: nil object")
	// ErrTxDone is returned when a Tx or an Object is used after its
	// transaction function returned.
	ErrTxDone = errors.New("uvm: transaction has ended")
	// ErrForeignObject is returned when a Tx method, or an Object method
	// given other objects, receives an *Object loaded or created by another
	// transaction (an earlier attempt of a retried Update, a finished
	// transaction, or one running alongside). The error is a
	// *ForeignObjectError naming the object and the operation; load the
	// object again by OID in the current transaction.
	ErrForeignObject = errors.New("uvm: object belongs to another transaction")
	// ErrReadOnly is returned when a View transaction tries to write.
	ErrReadOnly = errors.New("uvm: write in a read-only transaction")
	// ErrCorrupt is returned when a stored value fails its checksum or cannot
	// be decoded. The error is a *CorruptError naming the key, object and slot.
	ErrCorrupt = errors.New("uvm: corrupt value")
	// ErrFormat is returned by Open when the image was written by a newer,
	// unknown encoding format.
	ErrFormat = errors.New("uvm: unsupported image format")
	// ErrCovenant is returned by a commit when an object's state changed
	// without MarkChanged (see the package documentation).
	ErrCovenant = errors.New("uvm: persistence covenant violated")
	// ErrRestart is returned by a send whose transaction was marked with
	// Tx.Restart; View and Update run the transaction again on their own.
	ErrRestart = errors.New("uvm: transaction restarts on a fresh snapshot")
	// ErrNotDurable is returned by a commit when the image could not be
	// made durable (an fsync failed): that commit, and any since the last
	// good sync, may be lost on a power failure, although the running
	// image shows them. It is sticky: every later write transaction fails
	// with it, before committing, until the image is closed and reopened.
	ErrNotDurable = errors.New("uvm: image not durable: a sync to disk failed; reopen the image")
	// ErrConflict is returned when a transaction still conflicts with
	// concurrent commits after the retry budget is spent.
	ErrConflict = errors.New("uvm: transaction conflict")
	// ErrPanic is returned when a transaction function panicked. The
	// transaction was discarded.
	ErrPanic = errors.New("uvm: panic in transaction")
	// ErrNotUnderstood is returned by Send when nothing in the receiver's
	// delegation chain answers the selector and no DoesNotUnderstand hook is set.
	ErrNotUnderstood = errors.New("uvm: message not understood")
	// ErrAmbiguous is returned when a selector is found in more than one
	// parent branch; resend through one of the holders (or another ancestor)
	// with SendVia.
	ErrAmbiguous = errors.New("uvm: ambiguous message")
	// ErrNotMethod is returned when arguments are sent to a data slot.
	ErrNotMethod = errors.New("uvm: slot holds data, not a method")
	// ErrNoPrimitive is returned when a slot names a primitive the host did not register.
	ErrNoPrimitive = errors.New("uvm: primitive not registered")
	// ErrNoRunner is returned when a source method is sent but no MethodRunner is configured.
	ErrNoRunner = errors.New("uvm: no method runner configured")
	// ErrTooDeep is returned when nested sends exceed Options.MaxSendDepth.
	ErrTooDeep = errors.New("uvm: message sends nested too deep")
	// ErrNotEmpty is returned by Restore when the image already holds objects.
	ErrNotEmpty = errors.New("uvm: image is not empty")
	// ErrNotParent is returned by SendVia when the named object is not an
	// ancestor of the receiver (not reachable through its parents).
	ErrNotParent = errors.New("uvm: not a parent or ancestor of the receiver")
	// ErrParentCycle is returned when a change to an object's parents
	// would make the object its own ancestor, directly or through others.
	// The error is a *ParentCycleError naming the chain; nothing changed.
	ErrParentCycle = errors.New("uvm: parent cycle")
	// ErrCorruptImage is returned when a file of an on-disk image is
	// damaged: by Open, which checks the image's files before Badger reads
	// them. The error is a *CorruptImageError naming the file. A
	// *CorruptError (a damaged value, found by the read that hit it) also
	// matches it, so errors.Is(err, ErrCorruptImage) asks whether the
	// image is damaged at all; Salvage copies what is still readable into
	// a new image.
	ErrCorruptImage = errors.New("uvm: corrupt image")
)

// NotFoundError reports a missing object, root, method version, record or blob.
type NotFoundError struct {
	Kind string // "object", "root", "method version", "record", "blob"
	Name string // the OID, root name, key or selector@version
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("uvm: %s %s not found", e.Kind, e.Name) }

// Is reports whether target is ErrNotFound.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// NameError reports an invalid slot, root or selector name.
type NameError struct {
	Name   string
	Reason string
}

func (e *NameError) Error() string {
	n := e.Name
	if len(n) > 40 {
		n = n[:40] + "…"
	}
	return fmt.Sprintf("uvm: invalid name %q: %s", n, e.Reason)
}

// Is reports whether target is ErrBadName.
func (e *NameError) Is(target error) bool { return target == ErrBadName }

// ValueError reports a value that cannot be stored in a slot.
type ValueError struct {
	Slot   string
	Type   string // the Go type that was refused
	Reason string
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("uvm: slot %q: cannot store %s: %s", e.Slot, e.Type, e.Reason)
}

// Is reports whether target is ErrUnstorable.
func (e *ValueError) Is(target error) bool { return target == ErrUnstorable }

// CorruptError reports a stored value that failed its checksum or could not
// be decoded. Nothing is handed on in its place.
type CorruptError struct {
	Key    string // the storage key, printable
	OID    OID    // the object, if the value is an object
	Slot   string // the slot, when it could be identified
	Reason string
}

func (e *CorruptError) Error() string {
	var b strings.Builder
	b.WriteString("uvm: corrupt value")
	if e.OID != 0 {
		fmt.Fprintf(&b, " in object %d", e.OID)
	}
	if e.Slot != "" {
		fmt.Fprintf(&b, " slot %q", e.Slot)
	}
	fmt.Fprintf(&b, " (key %s): %s", e.Key, e.Reason)
	return b.String()
}

// Is reports whether target is ErrCorrupt or ErrCorruptImage: a damaged
// value is damage to the image, found by the read that hit it.
func (e *CorruptError) Is(target error) bool {
	return target == ErrCorrupt || target == ErrCorruptImage
}

// CorruptImageError reports a damaged file of an on-disk image.
type CorruptImageError struct {
	File   string // the file's path
	Offset int64  // where the damage was found, in bytes from the file's start; -1 if unknown
	Reason string
}

func (e *CorruptImageError) Error() string {
	return "uvm: corrupt image: " + e.where() + " (uvm.Salvage copies what is readable into a new image)"
}

// where names the file, the place and the damage.
func (e *CorruptImageError) where() string {
	at := ""
	if e.Offset >= 0 {
		at = fmt.Sprintf(" at byte %d", e.Offset)
	}
	return fmt.Sprintf("%s%s: %s", e.File, at, e.Reason)
}

// Is reports whether target is ErrCorruptImage.
func (e *CorruptImageError) Is(target error) bool { return target == ErrCorruptImage }

// CovenantError reports an object whose state changed without MarkChanged.
type CovenantError struct {
	OID    OID
	Slot   string // the first slot whose stored bytes differ
	Method string // the method that last wrote or exposed the object, if known
}

func (e *CovenantError) Error() string {
	s := fmt.Sprintf("uvm: persistence covenant violated: object %d slot %q changed without MarkChanged", e.OID, e.Slot)
	if e.Method != "" {
		s += " (in method " + e.Method + ")"
	}
	return s + "; the transaction was rolled back"
}

// Is reports whether target is ErrCovenant.
func (e *CovenantError) Is(target error) bool { return target == ErrCovenant }

// ForeignObjectError reports an *Object used in a transaction other than
// the one that loaded or created it. When that transaction has ended, the
// error also matches ErrTxDone.
type ForeignObjectError struct {
	OID   OID
	Op    string // the operation that refused it, such as "Tx.SetRoot"
	Ended bool   // the object's own transaction has ended
}

func (e *ForeignObjectError) Error() string {
	s := fmt.Sprintf("uvm: %s: object %d belongs to another transaction", e.Op, e.OID)
	if e.Ended {
		s += " (which has ended)"
	}
	return s + "; load it again by OID in this one"
}

// Is reports whether target is ErrForeignObject, or ErrTxDone when the
// object's transaction has ended.
func (e *ForeignObjectError) Is(target error) bool {
	return target == ErrForeignObject || (e.Ended && target == ErrTxDone)
}

// AmbiguousError reports a selector found in more than one parent branch.
// The branches may part at the receiver or at any of its ancestors: with
// o → p → {a, b}, both holding the selector, Receiver is o and Fork is p.
type AmbiguousError struct {
	Receiver OID // the object the message was sent to
	Selector string
	Holders  []OID // two objects holding the selector, in Fork's parent order
	Fork     OID   // the object whose parents lead to the different Holders; Receiver itself, or one of its ancestors
}

func (e *AmbiguousError) Error() string {
	where := "through different parents"
	if e.Fork != e.Receiver {
		where = fmt.Sprintf("through different parents of its ancestor %d", e.Fork)
	}
	return fmt.Sprintf("uvm: ambiguous message %q sent to object %d: found in objects %v %s; resend through one of them with SendVia", e.Selector, e.Receiver, e.Holders, where)
}

// Is reports whether target is ErrAmbiguous.
func (e *AmbiguousError) Is(target error) bool { return target == ErrAmbiguous }

// NotUnderstoodError reports a selector nothing in the delegation chain answers.
type NotUnderstoodError struct {
	Receiver OID
	Selector string
}

func (e *NotUnderstoodError) Error() string {
	return fmt.Sprintf("uvm: object %d does not understand %q", e.Receiver, e.Selector)
}

// Is reports whether target is ErrNotUnderstood.
func (e *NotUnderstoodError) Is(target error) bool { return target == ErrNotUnderstood }

// PanicError is returned when a transaction function or a primitive panicked.
type PanicError struct {
	Value string // the panic value, described without calling foreign String methods
	Stack string
}

func (e *PanicError) Error() string { return "uvm: panic in transaction: " + e.Value }

// Is reports whether target is ErrPanic.
func (e *PanicError) Is(target error) bool { return target == ErrPanic }

// ParentCycleError reports a parents change that was refused because it
// would make an object its own ancestor.
type ParentCycleError struct {
	// Chain is the object whose parents were to change, the ancestors
	// through which it would reach itself, and the object again.
	Chain []OID
}

func (e *ParentCycleError) Error() string {
	var b strings.Builder
	b.WriteString("uvm: parent cycle: ")
	for i, oid := range e.Chain {
		if i > 0 {
			b.WriteString(" → ")
		}
		fmt.Fprint(&b, uint64(oid))
	}
	return b.String()
}

// Is reports whether target is ErrParentCycle.
func (e *ParentCycleError) Is(target error) bool { return target == ErrParentCycle }
