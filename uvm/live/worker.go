package live

import (
	"bufio"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"sync/atomic"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live/batos"
)

// ServeIfWorker turns this process into an isolated worker when a Runner
// started it as one, and then never returns; otherwise it returns at once
// and does nothing. A host program that runs isolated methods calls it
// first thing in main, and a test binary in TestMain:
//
//	func main() {
//		live.ServeIfWorker()
//		...
//	}
//
//	func TestMain(m *testing.M) {
//		live.ServeIfWorker()
//		os.Exit(m.Run())
//	}
//
// A worker is the host binary re-executed (like moby's reexec) with
// argv[0] set to a marker, so it needs no separate executable. Without the
// call, a Runner's worker would run the host's own main instead: the
// Runner notices that it never answers the handshake, kills it and fails
// isolated calls with ErrNoWorker.
func ServeIfWorker() {
	if len(os.Args) != 2 || os.Args[0] != workerArg0 || os.Args[1] != protocolVersion {
		return
	}
	in, out := os.NewFile(3, "requests"), os.NewFile(4, "responses")
	if in == nil || out == nil {
		fmt.Fprintln(os.Stderr, "live worker: started without its pipes")
		os.Exit(2)
	}
	code := serveWorker(in, out)
	os.Exit(code)
}

// workerProc is the worker's side of the protocol.
type workerProc struct {
	dec     *gob.Decoder
	enc     *gob.Encoder
	bw      *bufio.Writer
	cfg     workerConfig
	eng     *engine
	ch      *chain
	sources map[string]source
	opts    Options // budget defaults inside the worker
	base    int     // goroutines when idle
	// running are the budgets of the runs in progress, outermost first: a
	// nested run (a send the parent served by running another method
	// here) sits on top of the run that sent it.
	running []*budget
}

func serveWorker(in io.Reader, out io.Writer) int {
	p := &workerProc{dec: gob.NewDecoder(bufio.NewReaderSize(in, 64<<10)), ch: &chain{}, sources: map[string]source{}}
	p.bw = bufio.NewWriterSize(out, 64<<10)
	p.enc = gob.NewEncoder(p.bw)
	var req request
	if err := p.dec.Decode(&req); err != nil || req.Op != opConfig || req.Config == nil || req.Config.Protocol != protocolVersion {
		fmt.Fprintln(os.Stderr, "live worker: bad handshake")
		return 2
	}
	p.cfg = *req.Config
	debug.SetMaxStack(p.cfg.Stack)
	if err := applyLimits(p.cfg.Memory); err != nil {
		fmt.Fprintln(os.Stderr, "live worker: limits:", err)
		return 2
	}
	watchCPU()
	syms, _, err := sandboxSymbols(p.cfg.Imports, hostSymbols())
	if err != nil {
		fmt.Fprintln(os.Stderr, "live worker:", err)
		return 2
	}
	p.eng = newEngine(syms, p.cfg.PerGen, slog.New(slog.DiscardHandler))
	// A warm worker has its first interpreter ready: loading the symbols
	// costs a fresh worker's first call several milliseconds otherwise.
	if _, err := p.eng.target(false); err != nil {
		fmt.Fprintln(os.Stderr, "live worker:", err)
		return 2
	}
	p.opts = Options{MaxHeapGrowth: p.cfg.HeapGrowth, MaxResultBytes: p.cfg.ResultBytes}
	p.opts.fill()
	p.base = runtime.NumGoroutine()
	if err := p.send(&response{Op: opCompiled}); err != nil { // ready
		return 2
	}
	for {
		var req request
		if err := p.dec.Decode(&req); err != nil {
			if errors.Is(err, io.EOF) {
				return 0
			}
			fmt.Fprintln(os.Stderr, "live worker: reading a request:", err)
			return 2
		}
		if err := p.handle(&req); err != nil {
			fmt.Fprintln(os.Stderr, "live worker:", err)
			return 2
		}
	}
}

func (p *workerProc) send(r *response) error {
	if err := p.enc.Encode(r); err != nil {
		return err
	}
	return p.bw.Flush()
}

// handle serves a run or a compile; anything else is a protocol error.
func (p *workerProc) handle(req *request) error {
	switch {
	case req.Op == opRun && req.Run != nil:
		return p.run(req.Run)
	case req.Op == opCompile && req.Comp != nil:
		_, err := p.compile(req.Comp.Src, req.Comp.Version)
		return p.send(&response{Op: opCompiled, Err: wireErrorOf(err)})
	}
	return fmt.Errorf("unexpected request %d", req.Op)
}

func (p *workerProc) compile(s source, version int) (*compiled, error) {
	if s.Text == "" {
		known, ok := p.sources[s.Key]
		if !ok {
			return nil, &CompileError{Selector: s.Selector, Version: version, Msg: "the worker does not have this source"}
		}
		s = known
	} else {
		p.sources[s.Key] = s
	}
	c, err := p.eng.get(p.ch, prepared{Key: s.Key, Pkg: s.Pkg, Source: s.Text, Selector: s.Selector}, version)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// run executes one method and answers with done.
func (p *workerProc) run(rr *runRequest) error {
	info := &callInfo{selector: rr.Src.Selector, version: rr.Version}
	c, err := p.compile(rr.Src, rr.Version)
	if err != nil {
		return p.send(&response{Op: opDone, Err: wireErrorOf(err)})
	}
	setCPULimit(rr.CPU)
	l := limitsOf(&p.opts)
	l.fuel, l.depth, l.alloc, l.timeout = rr.Fuel, rr.Depth, rr.Alloc, rr.Timeout
	b := newBudget(context.Background(), l)
	s := newWorkerSelf(p, rr, info, b)
	p.running = append(p.running, b)
	defer func() { p.running = p.running[:len(p.running)-1] }()

	c.gen.begin(p.ch)
	oc := invoke(c.fn, s, fromWireList(rr.Args))
	c.gen.end(p.ch)
	s.ended.Store(true)

	// The writes go back whatever the outcome, as far as the method got:
	// in the host they would be in the transaction too, and the caller
	// discards it when it returns the error.
	out := &response{Op: opDone}
	out.Err, out.Result = p.outcome(info, b, oc)
	ws, werr := s.flush()
	if werr != nil {
		out.Err, out.Result = wireErrorOf(werr), wval{}
	} else {
		out.Flush = ws
	}
	// A goroutine left running (only possible when an audit and the
	// runtime's checks both missed it) must not touch the next call.
	out.Retire = runtime.NumGoroutine() > p.base
	return p.send(out)
}

// outcome turns what a call did into a result or an error, as plain data.
func (p *workerProc) outcome(info *callInfo, b *budget, oc outcome) (*wireError, wval) {
	if err := callError(info, b, oc); err != nil {
		return wireErrorOf(err), wval{}
	}
	v, err := toResult(oc.res, p.opts.MaxResultBytes, info.selector, info.version)
	if err != nil {
		return wireErrorOf(err), wval{}
	}
	return nil, toWire(v)
}

// waitReply waits for the parent's answer to a send or sync, serving
// nested runs meanwhile.
func (p *workerProc) waitReply() (*sendReply, error) {
	for {
		var req request
		if err := p.dec.Decode(&req); err != nil {
			return nil, err
		}
		if req.Op == opReply && req.Reply != nil {
			return req.Reply, nil
		}
		if err := p.handle(&req); err != nil {
			return nil, err
		}
	}
}

// invoke calls a compiled method, recovering any panic.
func invoke(fn entryFunc, s batos.Object, args []any) (o outcome) {
	defer func() {
		if r := recover(); r != nil {
			o = outcome{panicValue: r, panicked: true}
		}
	}()
	o.res, o.err = fn(batos.New(s), args)
	return o
}

// outcome is how a call of interpreted code ended.
type outcome struct {
	res        any
	err        error
	panicValue any
	panicked   bool
}

// callError classifies how a call ended: an exhausted budget wins over
// everything the method did after (it may have recovered the abort), then
// a panic, then the method's own error.
func callError(info *callInfo, b *budget, oc outcome) error {
	if b.err != nil {
		return b.err
	}
	if oc.panicked {
		if a, ok := oc.panicValue.(abort); ok {
			return a.err
		}
		return &PanicError{Selector: info.selector, Version: info.version, Value: panicText(oc.panicValue)}
	}
	if oc.err != nil {
		text, safe := errorText(oc.err)
		me := &MethodError{Selector: info.selector, Version: info.version, Text: text}
		if safe {
			me.err = oc.err
		}
		return me
	}
	return nil
}

// wireErrorOf carries an error over the pipe as plain data.
func wireErrorOf(err error) *wireError {
	if err == nil {
		return nil
	}
	var (
		me *MethodError
		pe *PanicError
		be *BudgetError
		ce *CompileError
		re *ResultError
	)
	switch {
	case errors.As(err, &be):
		return &wireError{Kind: weBudget, Resource: be.Resource, Limit: be.Limit, Unit: be.Unit}
	case errors.As(err, &me):
		we := &wireError{Kind: weMethod, Text: me.Text}
		if me.err != nil {
			we.Sentinels = sentinelsOf(me.err)
		}
		return we
	case errors.As(err, &pe):
		return &wireError{Kind: wePanic, Text: pe.Value}
	case errors.As(err, &ce):
		return &wireError{Kind: weCompile, Text: ce.Msg, Line: ce.Line, Col: ce.Col, Refused: ce.refused}
	case errors.As(err, &re):
		return &wireError{Kind: weResult, Path: re.Path, Type: re.Type}
	}
	text, safe := errorText(err)
	we := &wireError{Kind: weOther, Text: text}
	if safe {
		we.Sentinels = sentinelsOf(err)
	}
	return we
}

// errorFromWire rebuilds a typed error for the method sel, version.
func errorFromWire(w *wireError, sel string, version int) error {
	if w == nil {
		return nil
	}
	switch w.Kind {
	case weBudget:
		return &BudgetError{Selector: sel, Version: version, Resource: w.Resource, Limit: w.Limit, Unit: w.Unit}
	case weMethod:
		return &MethodError{Selector: sel, Version: version, Text: w.Text, err: sentinelsFrom(w.Sentinels)}
	case wePanic:
		return &PanicError{Selector: sel, Version: version, Value: w.Text}
	case weCompile:
		return &CompileError{Selector: sel, Version: version, Line: w.Line, Col: w.Col, Msg: w.Text, refused: w.Refused}
	case weResult:
		return &ResultError{Selector: sel, Version: version, Path: w.Path, Type: w.Type}
	}
	return &remoteError{text: w.Text, is: sentinelsFrom(w.Sentinels)}
}

// remoteError is an error from the other side of the pipe, as text and the
// sentinels it matched.
type remoteError struct {
	text string
	is   error
}

func (e *remoteError) Error() string { return e.text }

func (e *remoteError) Unwrap() error { return e.is }

// slotKey names a slot of an object.
type slotKey struct {
	oid  uint64
	slot string
}

type slotView struct {
	holder uint64
	v      any
}

type exposure struct {
	live, pristine any
}

type pendingWrite struct {
	slot string
	v    any
	del  bool
}

// workerSelf is the batos.Self of a method running in a worker (the Object
// of the batos.Self value it gets): it reads
// the snapshot, keeps writes as a write-set, and asks the parent for sends
// (and for a fresh snapshot when a local change hides what it should see).
type workerSelf struct {
	p        *workerProc
	oid      uint64
	info     *callInfo
	b        *budget
	readOnly bool
	own      map[string]bool
	view     map[string]slotView
	pending  []pendingWrite
	exposed  map[slotKey]*exposure
	marked   bool
	stale    bool // a Delete or a parents change: the inherited view may be wrong
	ended    atomic.Bool
}

func newWorkerSelf(p *workerProc, rr *runRequest, info *callInfo, b *budget) *workerSelf {
	s := &workerSelf{p: p, oid: rr.Receiver, info: info, b: b}
	s.reset(&rr.Snap)
	return s
}

func (s *workerSelf) reset(snap *snapshot) {
	s.readOnly = snap.ReadOnly
	s.own = make(map[string]bool, len(snap.Own))
	for _, n := range snap.Own {
		s.own[n] = true
	}
	s.view = make(map[string]slotView, len(snap.Names))
	for i, n := range snap.Names {
		if i < len(snap.Holders) && i < len(snap.Values) {
			s.view[n] = slotView{holder: snap.Holders[i], v: fromWire(snap.Values[i])}
		}
	}
	s.pending = nil
	s.exposed = map[slotKey]*exposure{}
	s.stale = false
}

func (s *workerSelf) budgetOf() (*budget, *callInfo) { return s.b, s.info }

func (s *workerSelf) OID() uvm.OID { return uvm.OID(s.oid) }

func (s *workerSelf) lookup(slot string) (slotView, bool) {
	if s.stale && !s.own[slot] {
		if err := s.sync(); err != nil {
			return slotView{}, false
		}
	}
	v, ok := s.view[slot]
	return v, ok
}

func (s *workerSelf) Get(slot string) any {
	if s.ended.Load() {
		return nil
	}
	v, ok := s.lookup(slot)
	if !ok {
		return nil
	}
	switch v.v.(type) {
	case []any, map[string]any, []byte:
		k := slotKey{v.holder, slot}
		if _, seen := s.exposed[k]; !seen {
			s.exposed[k] = &exposure{live: v.v, pristine: uvm.CloneValue(v.v)}
		}
	}
	return v.v
}

func (s *workerSelf) Has(slot string) bool {
	if s.ended.Load() {
		return false
	}
	_, ok := s.lookup(slot)
	return ok
}

func (s *workerSelf) Set(slot string, value any) error {
	if s.ended.Load() {
		return ErrSelfEnded
	}
	if s.readOnly {
		return uvm.ErrReadOnly
	}
	if err := uvm.CheckName(slot); err != nil {
		return err
	}
	n, err := normalizeSlot(slot, value)
	if err != nil {
		return err
	}
	if slot == uvm.ParentsSlot {
		if err := checkParents(n); err != nil {
			return &uvm.ValueError{Slot: slot, Type: typeName(reflectType(value)), Reason: err.Error()}
		}
		s.stale = true
	}
	s.pending = append(s.pending, pendingWrite{slot: slot, v: n})
	s.own[slot] = true
	s.view[slot] = slotView{holder: s.oid, v: n}
	delete(s.exposed, slotKey{s.oid, slot})
	return nil
}

func (s *workerSelf) Delete(slot string) error {
	if s.ended.Load() {
		return ErrSelfEnded
	}
	if s.readOnly {
		return uvm.ErrReadOnly
	}
	if !s.own[slot] {
		return fmt.Errorf("%w: object %d has no slot %q", uvm.ErrSlotNotFound, s.oid, slot)
	}
	s.pending = append(s.pending, pendingWrite{slot: slot, del: true})
	delete(s.own, slot)
	delete(s.view, slot)
	delete(s.exposed, slotKey{s.oid, slot})
	s.stale = true
	return nil
}

func (s *workerSelf) MarkChanged() {
	if !s.ended.Load() {
		s.marked = true
	}
}

func (s *workerSelf) Send(selector string, args ...any) (any, error) {
	if s.ended.Load() {
		return nil, ErrSelfEnded
	}
	nargs := make([]any, len(args))
	for i, a := range args {
		n, err := normalizeSlot(fmt.Sprintf("argument %d", i), a)
		if err != nil {
			return nil, err
		}
		nargs[i] = n
	}
	ws, err := s.flush()
	if err != nil {
		return nil, err
	}
	if err := s.p.send(&response{Op: opSend, Flush: ws, Selector: selector, Args: wireList(nargs)}); err != nil {
		return nil, err
	}
	reply, err := s.p.waitReply()
	if err != nil {
		return nil, err
	}
	s.reset(&reply.Snap)
	if reply.Suspended > 0 {
		// Held for every run waiting on this send, not just the innermost.
		for _, b := range s.p.running {
			b.deadline = b.deadline.Add(reply.Suspended)
		}
	}
	if reply.Err != nil {
		return nil, &remoteError{text: reply.Err.Text, is: sentinelsFrom(reply.Err.Sentinels)}
	}
	return fromWire(reply.Result), nil
}

// sync hands the parent the writes so far and takes a fresh snapshot.
func (s *workerSelf) sync() error {
	ws, err := s.flush()
	if err != nil {
		return err
	}
	if err := s.p.send(&response{Op: opSync, Flush: ws}); err != nil {
		return err
	}
	reply, err := s.p.waitReply()
	if err != nil {
		return err
	}
	s.reset(&reply.Snap)
	if reply.Err != nil {
		return &remoteError{text: reply.Err.Text}
	}
	return nil
}

// flush turns the pending writes and the in-place changes of exposed
// containers into a write-set.
func (s *workerSelf) flush() (writeSet, error) {
	ws := writeSet{Marked: s.marked}
	size := int64(0)
	limit := s.p.opts.MaxResultBytes
	for _, w := range s.pending {
		v := toWire(w.v)
		size += wireSize(&v)
		ws.Writes = append(ws.Writes, write{OID: s.oid, Slot: w.slot, Delete: w.del, Value: v})
	}
	keys := make([]slotKey, 0, len(s.exposed))
	for k, e := range s.exposed {
		if !plainEqual(e.live, e.pristine) {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].oid != keys[j].oid {
			return keys[i].oid < keys[j].oid
		}
		return keys[i].slot < keys[j].slot
	})
	for _, k := range keys {
		v := toWire(s.exposed[k].live)
		size += wireSize(&v)
		ws.Writes = append(ws.Writes, write{OID: k.oid, Slot: k.slot, Value: v})
	}
	if size > limit {
		return writeSet{}, &BudgetError{Selector: s.info.selector, Version: s.info.version, Resource: "result", Limit: limit, Unit: "bytes"}
	}
	s.pending = nil
	for k, e := range s.exposed {
		e.pristine = uvm.CloneValue(e.live)
		s.exposed[k] = e
	}
	return ws, nil
}

// wireSize estimates the encoded size of a wval.
func wireSize(w *wval) int64 {
	n := int64(16 + len(w.S) + len(w.B))
	for _, k := range w.Keys {
		n += int64(len(k))
	}
	for i := range w.L {
		n += wireSize(&w.L[i])
	}
	return n
}

func checkParents(v any) error {
	switch x := v.(type) {
	case nil, uvm.Ref:
		return nil
	case []any:
		for i, e := range x {
			if _, ok := e.(uvm.Ref); !ok {
				return fmt.Errorf("parents[%d] is %s, want a Ref", i, typeName(reflectType(e)))
			}
		}
		return nil
	}
	return fmt.Errorf("parents must be a list of Ref, got %s", typeName(reflectType(v)))
}
