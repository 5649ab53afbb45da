package live

import (
	"log/slog"
	"time"

	"github.com/batos-dev/batos/guardian"
)

// Execution policies, for uvm.Method.Policy, Options.Policy and
// Runner.SetImagePolicy.
const (
	// PolicyIsolated runs a method in a worker process with resource
	// limits: nothing it does can kill or hang the host. It is the default,
	// and dry runs always use it.
	PolicyIsolated = "isolated"
	// PolicyInProcess runs a method inside the host process, about twenty
	// times faster per call than PolicyIsolated. Budgets still apply, but a failure
	// the Go runtime cannot recover from (see the package documentation)
	// takes the host down with it, so choose it only for methods you trust.
	PolicyInProcess = "inprocess"
)

// Options configure a Runner. The zero value means the defaults that
// DefaultOptions documents.
type Options struct {
	// Policy is the execution policy of a method whose Method.Policy is
	// empty in an image that records none (see Runner.SetImagePolicy).
	// Empty means PolicyIsolated.
	Policy string

	// Fuel is how many budget checks one call may pass: the instrumented
	// code checks at every function entry and loop iteration. Nested sends
	// running in the same place share their caller's fuel. Zero means
	// 2,000,000: the interpreter spends 4 to 9 million steps a second on
	// tight loops (BenchmarkFuelRate), so a loop that cannot finish is
	// stopped by fuel in a quarter to half a second, long before Timeout.
	Fuel int64
	// MaxDepth bounds how deeply interpreted functions may nest within one
	// call. Zero means 4,000. Yaegi unwinds a panic in time quadratic in
	// the depth: a method that exhausts 4,000 frames takes about 0.4 s to
	// stop on an idle core (10,000 would take four seconds), longer while
	// the collector is busy.
	MaxDepth int
	// MaxAlloc bounds one allocation request of instrumented code (the
	// size given to make, strings.Repeat, bytes.Repeat or Grow), in
	// elements; a call may request four times that in all. Zero means
	// 64 Mi elements.
	MaxAlloc int64
	// MaxHeapGrowth bounds how much the heap may grow during one call, in
	// bytes, checked every few thousand fuel steps. Zero means 512 MiB.
	MaxHeapGrowth int64
	// MaxResultBytes bounds the size of a result or of one write-set, in
	// bytes of plain data. Zero means 64 MiB.
	MaxResultBytes int64
	// Timeout bounds the wall-clock time of one call when the caller's
	// context has no earlier deadline. Zero means 10 seconds.
	Timeout time.Duration

	// Workers is how many isolated workers are kept warm. Zero means 2; a
	// negative value disables isolated execution (isolated calls then fail
	// with ErrNoWorker).
	Workers int
	// MaxWorkers bounds how many workers run at once; an isolated call
	// waits for a free one. A worker whose call is suspended (Suspend:
	// the host works on the method's behalf, as a cognitive cycle for a
	// message it sent does) does not count meanwhile. Zero means 8.
	MaxWorkers int
	// WorkerIdle is how long a worker beyond the warm Workers — started
	// when more isolated calls ran at once — stays idle before it is
	// ended, so that a steady load of concurrent calls reuses it instead
	// of starting a process per call. Zero means one minute; a negative
	// value ends such a worker as soon as its call returns.
	WorkerIdle time.Duration
	// WorkerMemory is the address space a worker may add to what it had
	// when it started, in bytes (RLIMIT_AS). Zero means 1 GiB.
	WorkerMemory int64
	// WorkerStack is the maximum goroutine stack in a worker, in bytes
	// (debug.SetMaxStack), so runaway recursion dies quickly. Zero means
	// 64 MiB.
	WorkerStack int
	// WorkerCalls retires a worker after that many calls, bounding what a
	// long-lived interpreter accumulates. Zero means 10,000.
	WorkerCalls int
	// WorkerPath is the executable workers are started from; it must call
	// ServeIfWorker first thing. Empty means the running executable.
	WorkerPath string

	// GenerationMethods is how many methods one interpreter generation
	// compiles before the next compile starts a fresh generation (Yaegi
	// never frees code; a dropped generation does). Zero means 128.
	GenerationMethods int

	// Audit checks and instruments source before it is compiled; its
	// report travels with the [Candidate]. Nil means guardian.Audit with
	// Imports as its allowlist.
	Audit AuditFunc
	// Imports is the allowlist of standard-library packages that methods
	// may import, for the guardian's audit and for the interpreter's symbol
	// table alike. Nil means guardian.DefaultImports(). Packages that reach
	// the process, files, network, reflection or blocking primitives are
	// never exported, whatever the list says.
	Imports []string

	// Logger receives worker starts, deaths and generation changes. Nil
	// discards.
	Logger *slog.Logger

	// skipRuntimeChecks turns off the runtime's own refusal of goroutines,
	// channels and package state, so that tests can show containment when
	// an audit misses something. It is reachable from internal tests only.
	skipRuntimeChecks bool
}

// AuditFunc audits source written for selector. It returns a report whose
// Source is the instrumented source to compile, or an error explaining the
// refusal (returned to the caller of Runner.Compile as it is). It must be
// safe for concurrent use and give the same answer for the same source:
// the Runner keeps the outcome.
type AuditFunc func(src, selector string) (*guardian.Report, error)

// DefaultOptions returns the options with every default filled in.
func DefaultOptions() Options {
	var o Options
	o.fill()
	return o
}

func (o *Options) fill() {
	if o.Policy == "" {
		o.Policy = PolicyIsolated
	}
	if o.Fuel <= 0 {
		o.Fuel = 2_000_000
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = 4_000
	}
	if o.MaxAlloc <= 0 {
		o.MaxAlloc = 64 << 20
	}
	if o.MaxHeapGrowth <= 0 {
		o.MaxHeapGrowth = 512 << 20
	}
	if o.MaxResultBytes <= 0 {
		o.MaxResultBytes = 64 << 20
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Workers == 0 {
		o.Workers = 2
	}
	if o.MaxWorkers <= 0 {
		o.MaxWorkers = 8
	}
	if o.Workers > o.MaxWorkers {
		o.MaxWorkers = o.Workers
	}
	if o.WorkerIdle == 0 {
		o.WorkerIdle = time.Minute
	}
	if o.WorkerMemory <= 0 {
		o.WorkerMemory = 1 << 30
	}
	if o.WorkerStack <= 0 {
		o.WorkerStack = 64 << 20
	}
	if o.WorkerCalls <= 0 {
		o.WorkerCalls = 10_000
	}
	if o.GenerationMethods <= 0 {
		o.GenerationMethods = 128
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Audit == nil {
		o.Audit = guardianAudit(o.Imports)
	}
	o.Imports = sandboxImports(o.Imports)
}
