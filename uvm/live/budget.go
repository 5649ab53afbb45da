package live

import (
	"context"
	"runtime/metrics"
	"time"

	"github.com/batos-dev/batos/uvm/live/batos"
)

// budget bounds one call and the nested sends that run in the same place
// (which share it). It is used by one goroutine.
type budget struct {
	ctx       context.Context
	deadline  time.Time
	timeLimit int64 // ms the call was given

	fuelLeft  int64 // steps not yet handed to a Meter
	fuelLimit int64
	depth     int
	maxDepth  int

	allocLeft  int64 // elements the call may still request through Alloc
	allocLimit int64

	heapCap  int64
	heapBase uint64 // 0 until the first heap check
	heap     []metrics.Sample

	refuels int64 // calls to check
	// err is the first exhaustion; it is sticky, so a method that recovers
	// the abort panic is stopped again at its next check.
	err *BudgetError
}

// abort is the panic value a budget check raises to unwind interpreted code.
type abort struct{ err *BudgetError }

const (
	heapMetric = "/memory/classes/heap/objects:bytes"
	// fuelChunk is how many steps a Meter gets per Refuel.
	fuelChunk = 1024
)

// limits are the budget settings of one call.
type limits struct {
	fuel, alloc, heap int64
	depth             int
	timeout           time.Duration
}

func limitsOf(o *Options) limits {
	return limits{fuel: o.Fuel, alloc: o.MaxAlloc, heap: o.MaxHeapGrowth, depth: o.MaxDepth, timeout: o.Timeout}
}

func newBudget(ctx context.Context, l limits) *budget {
	b := &budget{
		ctx:        ctx,
		fuelLeft:   l.fuel,
		fuelLimit:  l.fuel,
		maxDepth:   l.depth,
		allocLeft:  4 * l.alloc,
		allocLimit: l.alloc,
		heapCap:    l.heap,
		heap:       []metrics.Sample{{Name: heapMetric}},
	}
	now := time.Now()
	b.deadline = now.Add(l.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(b.deadline) {
		b.deadline = d
	}
	b.timeLimit = b.deadline.Sub(now).Milliseconds()
	return b
}

func (b *budget) readHeap() uint64 {
	metrics.Read(b.heap)
	if b.heap[0].Value.Kind() == metrics.KindUint64 {
		return b.heap[0].Value.Uint64()
	}
	return 0
}

// exhaust records the first exhaustion and unwinds.
func (b *budget) exhaust(who *callInfo, resource string, limit int64, unit string) {
	if b.err == nil {
		b.err = &BudgetError{Selector: who.selector, Version: who.version, Resource: resource, Limit: limit, Unit: unit}
	}
	panic(abort{b.err})
}

// check runs the slower checks: context, deadline, heap.
func (b *budget) check(who *callInfo) {
	if b.err != nil {
		panic(abort{b.err})
	}
	if err := b.ctx.Err(); err != nil {
		if b.err == nil {
			b.err = &BudgetError{Selector: who.selector, Version: who.version, Resource: "time", Limit: b.timeLimit, Unit: "ms", cause: err}
		}
		panic(abort{b.err})
	}
	if !time.Now().Before(b.deadline) {
		b.exhaust(who, "time", b.timeLimit, "ms")
	}
	b.refuels++
	if b.refuels&3 == 0 {
		b.checkHeap(who)
	}
}

// checkHeap compares the heap with its size at the first check. Calls
// too short to be checked at all (most) never pay for reading it; large
// single allocations go through Alloc, which checks.
func (b *budget) checkHeap(who *callInfo) {
	now := b.readHeap()
	if b.heapBase == 0 {
		b.heapBase = now
		return
	}
	if now > b.heapBase && int64(now-b.heapBase) > b.heapCap {
		b.exhaust(who, "heap", b.heapCap, "bytes")
	}
}

// Meter is one call's budget as instrumented code sees it. The guardian
// instruments every generated method to reach the runtime through it:
//
//	func greet(self batos.Self, args []any) (any, error) {
//		__meter := batos.Enter(self) // counts a frame
//		defer __meter.Leave()
//		for ... {
//			__meter.Fuel--
//			if __meter.Fuel < 0 {
//				__meter.Refuel() // checks time, heap and total fuel
//			}
//			...
//		}
//		buf := make([]byte, __meter.Alloc(n))
//	}
//
// Helpers receive the meter as a first parameter and call Enter and Leave
// themselves. A check that finds the budget exhausted panics with a value
// of an unexported type, which unwinds the interpreted code; the runtime
// reports it as a *BudgetError. Only the runtime makes meters; methods may
// not name them (the runtime refuses source that does).
type Meter struct {
	// Fuel is what is left of the meter's current allotment of steps.
	// Instrumented loops decrement it and call Refuel when it drops below
	// zero.
	Fuel int

	b     *budget
	info  *callInfo
	depth int // frames entered through this meter and not yet left
	grant int // the size of the next allotment
}

// Enter is batos.Enter: it returns a new meter on the budget of the call
// that self belongs to, and counts one frame. Each call returns a meter of
// its own, so code that got hold of one cannot refill the instrumentation's.
// A self that is not the runtime's gets a meter whose every check fails.
func Enter(self Self) *Meter {
	var bs budgeted
	if s, ok := self.(batos.Self); ok {
		bs, _ = batos.ObjectOf(s).(budgeted)
	}
	if bs == nil {
		m := &Meter{b: &budget{err: &BudgetError{Resource: "meter", Unit: "(batos.Enter needs the method's own self)"}}, info: &callInfo{}}
		m.b.ctx = context.Background()
		return m
	}
	b, info := bs.budgetOf()
	m := &Meter{b: b, info: info, grant: 1}
	m.Enter()
	return m
}

// Enter counts one more nested frame and spends a step.
func (m *Meter) Enter() {
	b := m.b
	if b.err != nil {
		panic(abort{b.err})
	}
	b.depth++
	m.depth++
	if b.depth > b.maxDepth {
		b.exhaust(m.info, "depth", int64(b.maxDepth), "frames")
	}
	m.Fuel--
	if m.Fuel < 0 {
		m.Refuel()
	}
}

// Leave ends a frame counted by Enter. When the meter's last frame ends
// (the method returns), the fuel it still holds goes back to the call.
func (m *Meter) Leave() {
	if m.b.depth > 0 {
		m.b.depth--
	}
	if m.depth > 0 {
		m.depth--
		if m.depth == 0 && m.Fuel > 0 {
			m.b.fuelLeft += int64(m.Fuel)
			m.Fuel = 0
		}
	}
}

// Refuel checks the call's deadline, context and heap growth, and refills
// Fuel from the call's total fuel. Allotments start at one step and double
// up to 1024, so that the meters of deeply nested calls do not hold much
// fuel each.
func (m *Meter) Refuel() {
	b := m.b
	b.check(m.info)
	if b.fuelLeft <= 0 {
		b.exhaust(m.info, "fuel", b.fuelLimit, "steps")
	}
	grant := int64(m.grant)
	if grant < 1 {
		grant = 1
	}
	if m.grant < fuelChunk {
		m.grant *= 2
	}
	if grant > b.fuelLeft {
		grant = b.fuelLeft
	}
	b.fuelLeft -= grant
	m.Fuel = int(grant)
}

// Alloc approves a request for n elements (the size given to make,
// strings.Repeat, bytes.Repeat or Grow, or the length of a slice about to
// be appended) and returns n. A request over Options.MaxAlloc, or one that
// brings the call's total over four times that, exhausts the budget.
func (m *Meter) Alloc(n int) int {
	b := m.b
	if b.err != nil {
		panic(abort{b.err})
	}
	if n <= 0 {
		return n
	}
	if int64(n) > b.allocLimit || int64(n) > b.allocLeft {
		b.exhaust(m.info, "alloc", b.allocLimit, "elements")
	}
	if n >= 1<<20 && b.heapBase == 0 {
		b.checkHeap(m.info) // take the baseline before the allocation
	}
	b.allocLeft -= int64(n)
	if n >= 1<<20 {
		b.checkHeap(m.info)
	}
	return n
}

// callInfo names the method a Self belongs to, for budget errors.
type callInfo struct {
	selector string
	version  int
}
