// Package live compiles and runs the methods of a batos image: Go source
// written by a language model, audited and instrumented by the guardian,
// interpreted by Yaegi, and contained so that nothing a method does can
// kill, hang or corrupt the host.
//
// A [Runner] implements uvm.MethodRunner. Put it in uvm.Options.Runner and
// every send that finds a uvm.Method runs through it:
//
//	func main() {
//		live.ServeIfWorker() // first line: this binary also serves as the isolated worker
//		r, err := live.New(live.Options{})
//		...
//		defer r.Close()
//		im, err := uvm.Open(dir, uvm.Options{Runner: r})
//		...
//		err = im.Update(ctx, func(tx *uvm.Tx) error {
//			_, err := r.Install(ctx, tx, obj, uvm.Method{Selector: "greet", Source: src})
//			return err
//		})
//		answer, err := im.Send(ctx, oid, "greet")
//	}
//
// # From source to call
//
//	source ─► guardian.Audit ─► instrumented source ─► runtime checks ─► Yaegi ─► func(Self, []any) (any, error)
//	           (contract,         (batos.Meter            (no go, chan,     (one package per
//	            covenant)          budget checks)          package state)    method version)
//
// [Runner.Compile] does the first three steps and compiles, and returns a
// [Candidate]: the handle of source that passed, which knows its audit
// report and can be tried on an object ([Candidate.DryRun]) and installed
// ([Candidate.Install]) without being audited or compiled again. The
// shape is wazero's Runtime.CompileModule and CompiledModule:
//
//	cand, err := r.Compile(ctx, src, "greet")    // *guardian.Rejection or *CompileError
//	answer, err := cand.DryRun(ctx, tx, obj)     // in a worker; the caller discards tx
//	m, err := cand.Install(ctx, tx, obj, uvm.Method{Persona: "ALFRED"})
//
// [Runner.Install] is the same for a method the host wrote, in one call.
// The Runner keeps every audit's outcome by selector and source (its one
// cache), and the compiled function by a hash of the instrumented source,
// so a method is audited once per process, and after a restart compiles
// from its stored source on its first send and never again.
//
// Interpreted code sees a sandbox: the symbols of the allowlisted standard
// packages (never stdlib.Symbols whole; timers and sleeps withheld), an
// empty source file system (a relative import finds nothing), standard
// streams that lead nowhere, and the host package "batos" with [Self], Ref,
// OID and the [Meter] the instrumentation uses. What a method prints of
// what the host hands it names nothing of the host (package uvm/live/batos
// declares those values): a Self prints as "batos.Self(object 7)" whatever
// the verb, %T included, and the errors it returns are batos.Error values
// with the host's message in the contract's names. Error texts about a
// method speak those names too, describe panics in Go's words rather than
// the interpreter's, and compress a chain of repeated sends around its
// root cause ([MethodError]). Results and errors cross back
// as plain data: the host reads them with type switches and reflection and
// never calls a String or Error method written by the model.
//
// # Generations
//
// Yaegi never frees code (about 140 KiB per 30-line method), but a dropped
// interpreter is collected whole. The runner compiles into an interpreter
// generation; once it holds Options.GenerationMethods methods, the next
// compile starts a fresh one and the cache lets go of the old, which is
// collected when the calls still running in it return. Methods still in
// use compile again into the new generation on their next send. Yaegi
// cannot compile while other goroutines call into the same interpreter, so
// a generation admits either calls or one compile; a compile that would
// have to wait for other callers goes to a fresh generation instead.
//
// # Budgets
//
// Every call has a budget: the caller's context and Options.Timeout, fuel
// (Options.Fuel steps, spent by loop iterations and frames), depth
// (Options.MaxDepth frames), allocation requests (Options.MaxAlloc) and heap
// growth (Options.MaxHeapGrowth), and the size of what it returns or
// writes (Options.MaxResultBytes). A check that finds the budget exhausted
// panics, the runner recovers at the boundary, and the call fails with a
// *[BudgetError] naming the method, its version and the resource. Nested
// sends that run in the same place share their caller's budget.
//
// # Policies and the worker
//
// Some failures cannot be caught in a Go process at all: recursion past the
// stack limit, an allocation larger than memory, a panic in a goroutine.
// So a method runs, by default, in a worker: this same binary re-executed
// (see [ServeIfWorker]) with rlimits on address space (relative to the
// worker's size at start), CPU time per call, open files and core dumps,
// a 64 MiB stack limit, and a wall-clock kill. The parent sends a snapshot
// of every data slot the receiver can see; the worker runs the method
// against it and answers with a write-set of plain data, which the parent
// validates and applies in the caller's transaction with the unmarked
// semantics of uvm.Self, so the persistence covenant is checked at commit
// exactly as for a method run in the host. A Self.Send in the worker is
// performed by the parent (a nested isolated method runs in the same
// worker). A worker that dies is a *[WorkerError] (errors.Is [ErrBudget]
// when it died of a limit) and a fresh one replaces it; Options.Workers of
// them are kept warm. Calls at once beyond those start more, up to
// Options.MaxWorkers, and each of those stays for Options.WorkerIdle
// after its last call, so a steady concurrent load reuses them.
//
//	parent (the caller's transaction)            worker (rlimits, no state kept)
//	run: source, snapshot, args        ───────►  compile (cached), call
//	                                   ◄───────  send: writes so far, selector, args
//	tx.Send, apply writes, re-snapshot ───────►
//	                                   ◄───────  done: result, write-set
//	validate and apply write-set
//
// Where a method runs is its policy: uvm.Method.Policy if set, else the
// image's (recorded in the image by [Runner.SetImagePolicy]), else
// Options.Policy. [PolicyIsolated] is the default; [PolicyInProcess] is
// about twenty times faster per call and is the host's choice for methods
// it trusts. [Runner.Compile] and [Candidate.DryRun], which the cognitive
// cycle uses on candidates, always work in a worker.
//
// # Context values
//
// A call in progress travels with the context its nested sends get, so a
// send a method makes runs where it is and shares its budget: an isolated
// call's worker (so a nested isolated method runs in the same worker) and
// an in-process call's chain and budget. They are the package's only
// context values, unexported; [Suspend] stops the wall clock of the call
// a context is in, and [Detach] returns a context outside it, for work a
// send starts that is not part of the call (a cognitive cycle's dry runs).
// [ScopeOf] returns the top-level call a context is in, as a [Scope]: the
// host's primitives count in it what a method asks of them, and fail the
// whole call past their bound (psm bounds model calls so).
//
// # Caveats
//
//   - In-process calls are bounded by the instrumentation only: a fatal
//     runtime error (stack exhaustion past the depth check, an allocation
//     the heap cannot hold) still ends the host. That is why isolation is
//     the default.
//   - Yaegi unwinds a panic in time quadratic in the stack depth: a method
//     stopped at the default 4,000 frames takes about 0.4 s to unwind, more
//     while the collector is busy.
//   - A call's wall-clock budget covers the sends it makes, including a
//     DoesNotUnderstand cycle one of them starts.
//   - A failed call's writes stay in the transaction as far as the method
//     got, in either policy; uvm.Image.Update discards them when the error
//     is returned, as it should be.
//   - The snapshot holds every data slot visible from the receiver, so an
//     isolated call on an object that inherits large data pays for copying
//     it.
//   - Isolation needs Linux. RLIMIT_NPROC is not set (Linux counts threads
//     against it, per user); nothing exported to interpreted code can start
//     a process. In -race builds workers run without RLIMIT_AS, which the
//     race detector's shadow memory cannot live with.
//   - A Runner caches the policy of an image only this process opens;
//     change it with [Runner.SetImagePolicy] on the runner that runs the
//     image. On a shared image (uvm.Image.Shared, PostgreSQL) it reads
//     the policy in each sending transaction instead, so a change any
//     kernel commits applies to every kernel's next send.
//   - The stored source must be the source as written: the runtime refuses
//     source that names the instrumentation (batos.Enter, batos.Meter,
//     identifiers starting with "__").
package live
