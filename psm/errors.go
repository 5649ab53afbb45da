package psm

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/batos-dev/batos/uvm"
)

// Sentinel errors of the cognitive cycle.
var (
	// ErrCycleFailed is returned (wrapped in a *CycleError) when a cycle ends
	// in FAILED. The image is as it was before the cycle.
	ErrCycleFailed = errors.New("psm: cognitive cycle failed")
	// ErrLeaseLost is returned (as a *LeaseLostError, wrapped in the
	// cycle's *CycleError) when, on an image several kernels share, a
	// cycle's kernel found its cycle lease held by another kernel, which
	// took the cycle over: this kernel's cycle stops and installs nothing.
	ErrLeaseLost = errors.New("psm: cycle lease lost")
	// ErrKernelInUse is returned by Open when Options.Kernel names a
	// kernel that another open Mind on the same shared image is.
	ErrKernelInUse = errors.New("psm: kernel name in use")
	// ErrNestingLimit is returned when a generated method's unknown message
	// would start a cycle deeper than Options.MaxNesting.
	ErrNestingLimit = errors.New("psm: nested cycle limit reached")
	// ErrRecursiveCycle is returned when a cycle, directly or through nested
	// cycles, needs the very method it is writing.
	ErrRecursiveCycle = errors.New("psm: cycle needs the method it is writing")
	// ErrClosed is returned when the Mind is used after Close.
	ErrClosed = errors.New("psm: mind is closed")
	// ErrImageVersion is returned by Open when the image was awakened by an
	// incompatible version of this library.
	ErrImageVersion = errors.New("psm: image written by an incompatible batos version")
	// ErrNoSuchCycle is returned when a cycle record does not exist.
	ErrNoSuchCycle = errors.New("psm: no such cycle")
	// ErrPruneOptions is returned by Mind.Prune, and by Open for
	// Options.Retention, when PruneOptions hold a negative MaxAge or
	// MaxRecords.
	ErrPruneOptions = errors.New("psm: invalid prune options")
)

// CycleError tells which state of which cycle failed, and why.
type CycleError struct {
	CycleID  string
	State    State
	Selector string
	Attempts int   // synthesis attempts made
	Err      error // the cause
}

func (e *CycleError) Error() string {
	return fmt.Sprintf("psm: cycle %s for %q failed in %s after %d attempt(s): %v", e.CycleID, e.Selector, e.State, e.Attempts, e.Err)
}

// Unwrap returns the cause, so errors.Is/As reach it.
func (e *CycleError) Unwrap() []error { return []error{ErrCycleFailed, e.Err} }

// Sentinel errors of the host's door: objects, methods and the generation
// policy.
var (
	// ErrPolicy is returned (wrapped, naming the object and slot) when a
	// generation policy is not one this library knows.
	ErrPolicy = errors.New("psm: invalid generation policy")
	// ErrNearMiss is returned (as a *NotUnderstoodError) when a selector
	// nothing answers is within the typo guard's distance of one the
	// receiver answers, and its policy does not allow near misses.
	ErrNearMiss = errors.New("psm: selector is a near miss of one the object answers")
	// ErrGenerationOff is returned (as a *NotUnderstoodError) when a
	// selector nothing answers reaches an object whose generation policy
	// is GenerateNever.
	ErrGenerationOff = errors.New("psm: generation policy is never")
	// ErrAwaitingApproval is returned (as an *ApprovalError) when a
	// cycle's validated method waits for a person's decision.
	ErrAwaitingApproval = errors.New("psm: method awaits approval")
	// ErrNotPending is returned when Approve, Reject or Edit names a cycle
	// that is not awaiting approval (any more).
	ErrNotPending = errors.New("psm: cycle is not awaiting approval")
	// ErrInvalidSource is returned (as an *InstallError) when source a
	// host installs, imports, reverts to or edits fails validation.
	ErrInvalidSource = errors.New("psm: source failed validation")
	// ErrNoSuchVersion is returned when a method version does not exist.
	ErrNoSuchVersion = errors.New("psm: no such method version")
)

// NotUnderstoodError is returned when a message nothing answers is not
// given to a cognitive cycle: the receiver's generation policy is
// GenerateNever, or the selector is a near miss of one it answers. It
// matches uvm.ErrNotUnderstood (and errors.As finds a
// *uvm.NotUnderstoodError in it), and ErrGenerationOff or ErrNearMiss.
type NotUnderstoodError struct {
	Receiver   uvm.OID
	Selector   string
	Policy     Generation // the receiver's generation policy
	DidYouMean []string   // selectors the receiver answers near Selector, nearest first
}

func (e *NotUnderstoodError) Error() string {
	if len(e.DidYouMean) > 0 {
		q := make([]string, len(e.DidYouMean))
		for i, s := range e.DidYouMean {
			q[i] = strconv.Quote(s)
		}
		return fmt.Sprintf("psm: object %d does not understand %q: did you mean %s? (no method is written for a near miss unless the object's Policy.AllowNearMisses is set)", e.Receiver, e.Selector, strings.Join(q, " or "))
	}
	return fmt.Sprintf("psm: object %d does not understand %q, and its generation policy is %q: no method is written", e.Receiver, e.Selector, e.Policy)
}

// Unwrap returns uvm's not-understood error and the reason's sentinel.
func (e *NotUnderstoodError) Unwrap() []error {
	errs := []error{&uvm.NotUnderstoodError{Receiver: e.Receiver, Selector: e.Selector}}
	if len(e.DidYouMean) > 0 {
		return append(errs, ErrNearMiss)
	}
	return append(errs, ErrGenerationOff)
}

// ApprovalError is returned by a send whose cycle wrote and validated a
// method that waits for a person's decision (generation policy
// GenerateApprove): Mind.Approve, Mind.Reject or Mind.Edit with CycleID,
// from this process or after a restart. It matches ErrAwaitingApproval.
type ApprovalError struct {
	CycleID  string
	Receiver uvm.OID
	Selector string
}

func (e *ApprovalError) Error() string {
	return fmt.Sprintf("psm: cycle %s wrote %q for object %d; it awaits approval (Mind.Approve, Mind.Reject or Mind.Edit)", e.CycleID, e.Selector, e.Receiver)
}

// Is reports whether target is ErrAwaitingApproval.
func (e *ApprovalError) Is(target error) bool { return target == ErrAwaitingApproval }

// InstallError is returned when source a host installs (Mind.Install,
// Import, Revert, Edit) fails validation: Stage says which step refused
// it ("audit", "compile", "dry run"), Err why. It matches
// ErrInvalidSource and the cause. Nothing was installed.
type InstallError struct {
	Object   uvm.OID
	Selector string
	Stage    string
	Err      error
}

func (e *InstallError) Error() string {
	return fmt.Sprintf("psm: %q for object %d failed the %s: %v", e.Selector, e.Object, e.Stage, e.Err)
}

// Unwrap returns ErrInvalidSource and the cause.
func (e *InstallError) Unwrap() []error { return []error{ErrInvalidSource, e.Err} }

// Errors of examples as specifications (see Example).
var (
	// ErrExampleFailed is returned (an *ExamplesError) when a candidate
	// does not meet one or more of its mission's examples.
	ErrExampleFailed = errors.New("psm: example failed")
	// ErrBadExamples is returned when examples cannot be stored or read:
	// a value the image cannot hold, a slot that does not hold examples.
	ErrBadExamples = errors.New("psm: invalid examples")
)

// ErrReplayExhausted is returned in a replayed cycle (Mind.Replay) that
// sends more prompts than its record holds replies.
var ErrReplayExhausted = errors.New("psm: replay has no recorded reply left")

// LeaseLostError reports a cycle lease that another kernel took over.
type LeaseLostError struct {
	Kernel string // the kernel that lost it
	Lease  string // the lease, "psm/cycle/<object>/<selector>"
	Holder string // who holds it now ("" when nobody does)
}

func (e *LeaseLostError) Error() string {
	if e.Holder == "" {
		return fmt.Sprintf("psm: kernel %s no longer holds %s", e.Kernel, e.Lease)
	}
	return fmt.Sprintf("psm: kernel %s lost %s to kernel %s, which runs the cycle now", e.Kernel, e.Lease, e.Holder)
}

// Is reports whether target is ErrLeaseLost.
func (e *LeaseLostError) Is(target error) bool { return target == ErrLeaseLost }
