package psm

import (
	"errors"
	"fmt"
)

// Sentinel errors of the cognitive cycle.
var (
	// ErrCycleFailed is returned (wrapped in a *CycleError) when a cycle ends
	// in FAILED. The image is as it was before the cycle.
	ErrCycleFailed = errors.New("psm: cognitive cycle failed")
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
