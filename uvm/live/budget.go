package live

import (
	"context"
	"runtime/metrics"
	"time"
)

// budget bounds one call (and the nested sends that run in the same place,
// which share it). Instrumented code reaches it through the Self it was
// given; see hostStep and friends. A budget is used by one goroutine.
type budget struct {
	ctx       context.Context
	deadline  time.Time
	timeLimit int64 // ms the call was given

	fuel      int64 // remaining steps
	fuelLimit int64
	depth     int
	maxDepth  int

	heapCap  int64
	heapBase uint64
	heap     []metrics.Sample

	steps int64
	// err is the first exhaustion; it is sticky, so a model that recovers
	// the abort panic is stopped again at its next check.
	err *BudgetError
}

// abort is the panic value a budget check raises to unwind interpreted code.
type abort struct{ err *BudgetError }

const heapMetric = "/memory/classes/heap/objects:bytes"

func newBudget(ctx context.Context, o *Options) *budget {
	b := &budget{
		ctx:       ctx,
		fuel:      o.Fuel,
		fuelLimit: o.Fuel,
		maxDepth:  o.MaxDepth,
		heapCap:   o.MaxHeapGrowth,
		heap:      []metrics.Sample{{Name: heapMetric}},
	}
	now := time.Now()
	b.deadline = now.Add(o.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(b.deadline) {
		b.deadline = d
	}
	b.timeLimit = b.deadline.Sub(now).Milliseconds()
	metrics.Read(b.heap)
	if b.heap[0].Value.Kind() == metrics.KindUint64 {
		b.heapBase = b.heap[0].Value.Uint64()
	}
	return b
}

// exhaust records the first exhaustion and unwinds.
func (b *budget) exhaust(who *callInfo, resource string, limit int64, unit string) {
	if b.err == nil {
		b.err = &BudgetError{Selector: who.selector, Version: who.version, Resource: resource, Limit: limit, Unit: unit}
	}
	panic(abort{b.err})
}

// step spends one unit of fuel and, every so often, checks the deadline,
// the context and the heap.
func (b *budget) step(who *callInfo) {
	if b.err != nil {
		panic(abort{b.err})
	}
	b.fuel--
	b.steps++
	if b.fuel < 0 {
		b.exhaust(who, "fuel", b.fuelLimit, "steps")
	}
	if b.steps&1023 == 0 {
		b.slowCheck(who)
	}
}

func (b *budget) slowCheck(who *callInfo) {
	if b.ctx.Err() != nil || !time.Now().Before(b.deadline) {
		b.exhaust(who, "time", b.timeLimit, "ms")
	}
	if b.steps&4095 == 0 {
		b.checkHeap(who)
	}
}

func (b *budget) checkHeap(who *callInfo) {
	metrics.Read(b.heap)
	if b.heap[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	if now := b.heap[0].Value.Uint64(); now > b.heapBase && int64(now-b.heapBase) > b.heapCap {
		b.exhaust(who, "heap", b.heapCap, "bytes")
	}
}

// enter records one more nested interpreted call.
func (b *budget) enter(who *callInfo) {
	if b.err != nil {
		panic(abort{b.err})
	}
	b.depth++
	if b.depth > b.maxDepth {
		b.exhaust(who, "depth", int64(b.maxDepth), "frames")
	}
	b.step(who)
}

// leave records the end of a nested interpreted call.
func (b *budget) leave() {
	if b.depth > 0 {
		b.depth--
	}
}

// callInfo names the method a Self belongs to, for budget errors.
type callInfo struct {
	selector string
	version  int
}
