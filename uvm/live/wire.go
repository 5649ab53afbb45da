package live

import (
	"errors"
	"time"

	"github.com/batos-dev/batos/uvm"
)

// The worker protocol: gob messages over two pipes (the parent writes
// requests to the worker's fd 3 and reads responses from its fd 4). Values
// travel as wval trees, so no type needs registering with gob.
//
//	parent                              worker
//	config        ───────────────────►  (limits applied)
//	run(snapshot, args) ─────────────►
//	                ◄────────────────── send(flush, selector, args)   Self.Send
//	reply(result, fresh snapshot) ───►
//	                ◄────────────────── sync(flush)                  Get after Delete/parents change
//	reply(fresh snapshot) ───────────►
//	                ◄────────────────── done(result, write-set)
//
// While the worker waits for a reply, the parent may send it a nested run
// (an isolated method reached through Self.Send); it answers with done.

const protocolVersion = "batos-live-1"

// workerArg0 is the argv[0] a worker is started with.
const workerArg0 = "batos-live-worker"

// Value kinds of a wval.
const (
	kNil uint8 = iota
	kFalse
	kTrue
	kInt
	kFloat
	kString
	kBytes
	kList
	kMap
	kRef
	kPrimitive
	kBlob
	kMethod
)

// wval is a plain value on the wire.
type wval struct {
	K    uint8
	I    int64
	F    float64
	S    string
	B    []byte
	L    []wval
	Keys []string
}

// toWire encodes a plain value (as produced by normalizeSlot, plainer or a
// uvm slot).
func toWire(v any) wval {
	switch x := v.(type) {
	case nil:
		return wval{K: kNil}
	case bool:
		if x {
			return wval{K: kTrue}
		}
		return wval{K: kFalse}
	case int64:
		return wval{K: kInt, I: x}
	case int:
		return wval{K: kInt, I: int64(x)}
	case float64:
		return wval{K: kFloat, F: x}
	case string:
		return wval{K: kString, S: x}
	case []byte:
		return wval{K: kBytes, B: x}
	case []any:
		l := make([]wval, len(x))
		for i, e := range x {
			l[i] = toWire(e)
		}
		return wval{K: kList, L: l}
	case map[string]any:
		keys := make([]string, 0, len(x))
		l := make([]wval, 0, len(x))
		for k, e := range x {
			keys = append(keys, k)
			l = append(l, toWire(e))
		}
		return wval{K: kMap, Keys: keys, L: l}
	case uvm.Ref:
		return wval{K: kRef, I: int64(x.OID)}
	case uvm.Primitive:
		return wval{K: kPrimitive, S: x.Name}
	case uvm.BlobRef:
		return wval{K: kBlob, S: x.ID, I: x.Size}
	case uvm.Method:
		var created int64
		if !x.Created.IsZero() {
			created = x.Created.UnixNano()
		}
		return wval{K: kMethod, S: x.Source, I: int64(x.Version), L: []wval{{K: kInt, I: created}},
			Keys: []string{x.Selector, x.Persona, x.CycleID, x.Intent, x.Policy}}
	}
	return wval{K: kNil}
}

// fromWire decodes a wval; malformed input decodes as nil rather than
// failing, and depth is bounded.
func fromWire(w wval) any { return fromWireDepth(w, 0) }

func fromWireDepth(w wval, depth int) any {
	if depth > maxNesting+1 {
		return nil
	}
	switch w.K {
	case kFalse:
		return false
	case kTrue:
		return true
	case kInt:
		return w.I
	case kFloat:
		return w.F
	case kString:
		return w.S
	case kBytes:
		if w.B == nil {
			return []byte{}
		}
		return w.B
	case kList:
		out := make([]any, len(w.L))
		for i, e := range w.L {
			out[i] = fromWireDepth(e, depth+1)
		}
		return out
	case kMap:
		out := make(map[string]any, len(w.Keys))
		for i, k := range w.Keys {
			if i < len(w.L) {
				out[k] = fromWireDepth(w.L[i], depth+1)
			}
		}
		return out
	case kRef:
		return uvm.Ref{OID: uvm.OID(w.I)}
	case kPrimitive:
		return uvm.Primitive{Name: w.S}
	case kBlob:
		return uvm.BlobRef{ID: w.S, Size: w.I}
	case kMethod:
		m := uvm.Method{Source: w.S, Version: int(w.I)}
		if len(w.Keys) == 5 {
			m.Selector, m.Persona, m.CycleID, m.Intent, m.Policy = w.Keys[0], w.Keys[1], w.Keys[2], w.Keys[3], w.Keys[4]
		}
		if len(w.L) == 1 && w.L[0].I != 0 {
			m.Created = time.Unix(0, w.L[0].I).UTC()
		}
		return m
	}
	return nil
}

func wireList(vs []any) []wval {
	out := make([]wval, len(vs))
	for i, v := range vs {
		out[i] = toWire(v)
	}
	return out
}

func fromWireList(ws []wval) []any {
	out := make([]any, len(ws))
	for i, w := range ws {
		out[i] = fromWire(w)
	}
	return out
}

// Request and response operations.
const (
	opConfig uint8 = iota + 1
	opRun
	opReply
	opCompile
	opDone
	opSend
	opSync
	opCompiled
)

// request is a message from the parent to a worker.
type request struct {
	Op     uint8
	Config *workerConfig
	Run    *runRequest
	Reply  *sendReply
	Comp   *compileRequest
}

// workerConfig sets a worker's limits; it is the first message.
type workerConfig struct {
	Protocol    string
	Memory      int64
	Stack       int
	Imports     []string
	PerGen      int
	ResultBytes int64
	HeapGrowth  int64
}

// source is prepared source, sent the first time a worker needs it.
type source struct {
	Key      string
	Pkg      string
	Selector string
	Text     string // empty when the worker has seen Key before
}

type compileRequest struct {
	Src     source
	Version int
}

type runRequest struct {
	Src      source
	Version  int
	Receiver uint64
	Snap     snapshot
	Args     []wval
	Fuel     int64
	Alloc    int64
	Depth    int
	Timeout  time.Duration // wall-clock left for the call
	CPU      time.Duration
}

// snapshot is what a method in a worker may read: the receiver's own slot
// names, and every data slot visible from it (own or inherited) with the
// object that holds it.
type snapshot struct {
	ReadOnly bool // the transaction is a View
	Own      []string
	Names    []string
	Holders  []uint64
	Values   []wval
}

// sendReply answers a worker's send or sync.
type sendReply struct {
	Result wval
	Err    *wireError
	Snap   snapshot
	// Suspended is how long the host held the caller's budget while
	// serving this send (see Suspend): the worker adds it to its deadline.
	Suspended time.Duration
}

// response is a message from a worker to the parent.
type response struct {
	Op       uint8
	Flush    writeSet
	Selector string // opSend
	Args     []wval // opSend
	Result   wval   // opDone
	Err      *wireError
	Retire   bool // the worker should not be reused
}

// writeSet is what a method changed, as plain data.
type writeSet struct {
	Writes []write
	Marked bool
}

type write struct {
	OID    uint64
	Slot   string
	Delete bool
	Value  wval
}

// wireError is an error crossing the pipe, as plain data.
type wireError struct {
	Kind     uint8
	Text     string
	Resource string
	Limit    int64
	Unit     string
	Line     int
	Col      int
	Path     string
	Type     string
	Refused  bool
	// Sentinels are the known sentinels (see sentinels) the error matched,
	// so that errors.Is keeps working across the pipe.
	Sentinels []uint8
}

// sentinels lists the host sentinels whose identity survives the pipe. The
// parent and the worker are the same binary, so indices agree.
func sentinels() []error {
	return []error{
		uvm.ErrNotFound, uvm.ErrSlotNotFound, uvm.ErrBadName, uvm.ErrUnstorable,
		uvm.ErrNilObject, uvm.ErrTxDone, uvm.ErrReadOnly, uvm.ErrCorrupt,
		uvm.ErrCovenant, uvm.ErrConflict, uvm.ErrPanic, uvm.ErrNotUnderstood,
		uvm.ErrAmbiguous, uvm.ErrNotMethod, uvm.ErrNoPrimitive, uvm.ErrNoRunner,
		uvm.ErrTooDeep, uvm.ErrNotParent, uvm.ErrClosed,
		ErrCompile, ErrRefused, ErrBudget, ErrPanic, ErrMethod, ErrResult,
		ErrWorker, ErrSelfEnded, ErrPolicy, ErrClosed, ErrNoWorker,
		uvm.ErrForeignObject, uvm.ErrRestart,
	}
}

// sentinelsOf lists the known sentinels err matches. It is only called on
// errors whose chain is made of host types (see errorText).
func sentinelsOf(err error) []uint8 {
	var out []uint8
	for i, s := range sentinels() {
		if errors.Is(err, s) {
			out = append(out, uint8(i))
		}
	}
	return out
}

// sentinelSet is what a MethodError unwraps to after the pipe: the
// sentinels the original error matched.
type sentinelSet []error

func (s sentinelSet) Error() string { return "sentinels" }

func (s sentinelSet) Unwrap() []error { return s }

func sentinelsFrom(idx []uint8) error {
	if len(idx) == 0 {
		return nil
	}
	all := sentinels()
	var out sentinelSet
	for _, i := range idx {
		if int(i) < len(all) {
			out = append(out, all[i])
		}
	}
	return out
}

// Kinds of wireError.
const (
	weMethod uint8 = iota + 1
	wePanic
	weBudget
	weCompile
	weResult
	weOther
)
