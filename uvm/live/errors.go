package live

import (
	"errors"
	"fmt"
)

// Sentinel errors. Each is returned, usually wrapped in one of the typed
// errors below that errors.Is matches, when the condition in its comment
// holds.
var (
	// ErrCompile is returned when audited source does not compile in the
	// interpreter, or its entry function has the wrong signature. The error
	// is a *CompileError.
	ErrCompile = errors.New("live: method does not compile")
	// ErrRefused is returned when source uses a construct the runtime never
	// runs (a go statement, a channel operation, package-level state, an init
	// function), even if an audit let it through. The error is a *CompileError.
	ErrRefused = errors.New("live: construct refused by the runtime")
	// ErrBudget is returned when a call exhausts its budget: fuel, depth,
	// heap growth, result size, wall-clock time or a worker's resource
	// limits. The error is a *BudgetError or a *WorkerError.
	ErrBudget = errors.New("live: budget exhausted")
	// ErrPanic is returned when a method panicked. The error is a *PanicError.
	ErrPanic = errors.New("live: method panicked")
	// ErrMethod is returned when a method returned an error of its own. The
	// error is a *MethodError carrying the text as plain data.
	ErrMethod = errors.New("live: method returned an error")
	// ErrResult is returned when a method's result is not plain data (a
	// struct, pointer, func or channel). The error is a *ResultError.
	ErrResult = errors.New("live: result is not plain data")
	// ErrWorker is returned when the worker process running a call died or
	// broke the protocol. The error is a *WorkerError; a fresh worker
	// replaces the dead one.
	ErrWorker = errors.New("live: worker failed")
	// ErrSelfEnded is returned when a method's Self is used after the method
	// returned.
	ErrSelfEnded = errors.New("live: self used after its method returned")
	// ErrPolicy is returned for an execution policy other than
	// PolicyIsolated, PolicyInProcess or "".
	ErrPolicy = errors.New("live: unknown execution policy")
	// ErrClosed is returned when a Runner is used after Close.
	ErrClosed = errors.New("live: runner is closed")
	// ErrNoWorker is returned when an isolated call is needed but the host
	// binary does not serve workers: its main (or TestMain) lacks the call
	// to ServeIfWorker, or Options.Workers is negative.
	ErrNoWorker = errors.New("live: isolated workers unavailable")
)

// CompileError reports source that the interpreter (or the runtime's own
// check) would not accept.
type CompileError struct {
	Selector string
	Version  int    // 0 for a candidate that is not installed
	Line     int    // 1-based line in the submitted source, 0 if unknown
	Col      int    // 1-based column, 0 if unknown
	Msg      string // the interpreter's message, without host paths
	refused  bool
}

// Error names the method, the position and the message.
func (e *CompileError) Error() string {
	what := "does not compile"
	if e.refused {
		what = "refused by the runtime"
	}
	pos := ""
	if e.Line > 0 {
		pos = fmt.Sprintf(" at line %d", e.Line)
		if e.Col > 0 {
			pos += fmt.Sprintf(", column %d", e.Col)
		}
	}
	return fmt.Sprintf("live: method %s %s%s: %s", methodName(e.Selector, e.Version), what, pos, e.Msg)
}

// Is reports whether target is ErrCompile, or ErrRefused for a construct
// the runtime refuses.
func (e *CompileError) Is(target error) bool {
	return target == ErrCompile || (e.refused && target == ErrRefused)
}

// BudgetError reports a call that exhausted one of its budgets.
type BudgetError struct {
	Selector string
	Version  int
	Resource string // "fuel", "depth", "alloc", "heap", "result", "time"
	Limit    int64  // the limit that was reached, in the resource's unit
	Unit     string // "steps", "frames", "elements", "bytes", "ms"
	cause    error  // the context's error, when the caller's context ended
}

// Error names the method and the exhausted resource with its limit.
func (e *BudgetError) Error() string {
	return fmt.Sprintf("live: method %s exhausted its %s budget (limit %d %s)", methodName(e.Selector, e.Version), e.Resource, e.Limit, e.Unit)
}

// Is reports whether target is ErrBudget.
func (e *BudgetError) Is(target error) bool { return target == ErrBudget }

// Unwrap returns the caller's context error (context.Canceled or
// context.DeadlineExceeded) when that is what ended the call, else nil.
func (e *BudgetError) Unwrap() error { return e.cause }

// PanicError reports a method that panicked. Value describes the panic
// value without calling any method the model wrote.
type PanicError struct {
	Selector string
	Version  int
	Value    string
}

// Error names the method and the panic value.
func (e *PanicError) Error() string {
	return fmt.Sprintf("live: method %s panicked: %s", methodName(e.Selector, e.Version), e.Value)
}

// Is reports whether target is ErrPanic.
func (e *PanicError) Is(target error) bool { return target == ErrPanic }

// MethodError is an error a method returned, carried as plain text. When
// the method ran in this process and every error in the chain it returned
// is a host type, Unwrap gives the original, so errors.Is still finds host
// sentinels such as uvm.ErrNotUnderstood.
type MethodError struct {
	Selector string
	Version  int
	Text     string
	err      error
}

// Error names the method and the text of its error. When the text is the
// error of a send the method made, and the methods it passed through
// repeat (a method that sends its own selector), the chain is compressed:
// `live: method "x" v1 → "x" v1 (×85): ` and the root cause.
func (e *MethodError) Error() string {
	return chainText(methodName(e.Selector, e.Version), e.Text)
}

// Is reports whether target is ErrMethod.
func (e *MethodError) Is(target error) bool { return target == ErrMethod }

// Unwrap returns the original error when it is safe to hand on (see the
// type's documentation), else nil.
func (e *MethodError) Unwrap() error { return e.err }

// ResultError reports a result that cannot cross back to the host as plain
// data.
type ResultError struct {
	Selector string
	Version  int
	Path     string // where in the result, e.g. "result[3].name"
	Type     string // the offending Go type
}

// Error names the method and what in its result was not plain data.
func (e *ResultError) Error() string {
	return fmt.Sprintf("live: method %s returned %s of type %s, which is not plain data (want nil, bool, integers, floats, string, []byte, slices, maps with string keys, batos.Ref)", methodName(e.Selector, e.Version), e.Path, e.Type)
}

// Is reports whether target is ErrResult.
func (e *ResultError) Is(target error) bool { return target == ErrResult }

// WorkerError reports a worker process that died or misbehaved during a
// call. Cause is a short classification; Detail holds the last lines the
// worker wrote to its standard error, for logs (it can show host stack
// traces, so do not hand it to a model).
type WorkerError struct {
	Selector string
	Version  int
	Cause    string // e.g. "killed after the wall-clock limit of 2s", "out of memory", "stack overflow"
	Resource string // the exhausted resource ("time", "memory", "stack", "cpu"), or ""
	Detail   string
}

// Error names the method and the cause.
func (e *WorkerError) Error() string {
	return fmt.Sprintf("live: worker running method %s failed: %s", methodName(e.Selector, e.Version), e.Cause)
}

// Is reports whether target is ErrWorker, or ErrBudget when the worker
// died of an exhausted resource.
func (e *WorkerError) Is(target error) bool {
	return target == ErrWorker || (e.Resource != "" && target == ErrBudget)
}

func methodName(sel string, version int) string {
	if version > 0 {
		return fmt.Sprintf("%q v%d", sel, version)
	}
	return fmt.Sprintf("%q (candidate)", sel)
}
