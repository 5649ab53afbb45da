package live

import (
	"bufio"
	"context"
	"encoding/gob"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// proc is the parent's handle on one worker process.
type proc struct {
	cmd    *exec.Cmd
	reqW   *os.File
	respR  *os.File
	enc    *gob.Encoder
	bw     *bufio.Writer
	dec    *gob.Decoder
	stderr *tail
	known  map[string]bool // source keys the worker has
	calls  int
	idle   time.Time // when it last turned idle
	exited chan struct{}

	mu         sync.Mutex
	killReason string // why we killed it, if we did
	waitErr    error
}

// handshakeTimeout bounds a worker's start: a host binary that does not
// call ServeIfWorker never answers.
const handshakeTimeout = 10 * time.Second

// startProc starts a worker and waits for its handshake.
func startProc(ctx context.Context, o *Options) (*proc, error) {
	if !isolationSupported {
		return nil, fmt.Errorf("%w: isolation is implemented for linux only", ErrNoWorker)
	}
	exe := o.WorkerPath
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNoWorker, err)
		}
	}
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoWorker, err)
	}
	respR, respW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return nil, fmt.Errorf("%w: %v", ErrNoWorker, err)
	}
	cmd := exec.Command(exe)
	cmd.Args = []string{workerArg0, protocolVersion}
	cmd.ExtraFiles = []*os.File{reqR, respW}
	// A fatal error in a worker prints only its message, not every
	// goroutine's stack (which can be megabytes after deep recursion).
	// A worker runs one call at a time, so one P: a second would only
	// spin and wake threads, on cores the host and other workers share.
	cmd.Env = []string{"GOTRACEBACK=none", "GOMAXPROCS=1"}
	st := &tail{max: 16 << 10}
	cmd.Stderr = st
	cmd.SysProcAttr = workerAttr()
	if err := cmd.Start(); err != nil {
		reqR.Close()
		reqW.Close()
		respR.Close()
		respW.Close()
		return nil, fmt.Errorf("%w: starting %s: %v", ErrNoWorker, exe, err)
	}
	reqR.Close()
	respW.Close()
	p := &proc{cmd: cmd, reqW: reqW, respR: respR, stderr: st, known: map[string]bool{}, exited: make(chan struct{})}
	p.bw = bufio.NewWriterSize(reqW, 64<<10)
	p.enc = gob.NewEncoder(p.bw)
	p.dec = gob.NewDecoder(bufio.NewReaderSize(respR, 64<<10))
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(p.exited)
	}()

	timer := time.AfterFunc(handshakeTimeout, func() { p.kill("no handshake") })
	stop := context.AfterFunc(ctx, func() { p.kill("canceled") })
	defer stop()
	defer timer.Stop()
	cfg := &workerConfig{
		Protocol:    protocolVersion,
		Memory:      o.WorkerMemory,
		Stack:       o.WorkerStack,
		Imports:     o.Imports,
		PerGen:      o.GenerationMethods,
		ResultBytes: o.MaxResultBytes,
		HeapGrowth:  o.MaxHeapGrowth,
	}
	var ready response
	err = p.write(&request{Op: opConfig, Config: cfg})
	if err == nil {
		err = p.dec.Decode(&ready)
	}
	if err != nil || ready.Op != opCompiled {
		p.kill("no handshake")
		<-p.exited
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		detail := strings.TrimSpace(p.stderr.String())
		return nil, fmt.Errorf("%w: the worker did not answer the handshake (does the host's main, or TestMain, call live.ServeIfWorker first?): %s", ErrNoWorker, clip(detail, 512))
	}
	return p, nil
}

func (p *proc) write(r *request) error {
	if err := p.enc.Encode(r); err != nil {
		return err
	}
	return p.bw.Flush()
}

func (p *proc) read() (*response, error) {
	var r response
	if err := p.dec.Decode(&r); err != nil {
		return nil, err
	}
	return &r, nil
}

// kill ends the worker, remembering the first reason given.
func (p *proc) kill(reason string) {
	p.mu.Lock()
	if p.killReason == "" {
		p.killReason = reason
	}
	p.mu.Unlock()
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
	}
}

func (p *proc) reason() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.killReason
}

func (p *proc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return p.reason() == ""
	}
}

// close ends a worker politely (it exits on EOF), killing it if it lingers.
func (p *proc) close() {
	p.reqW.Close()
	select {
	case <-p.exited:
	case <-time.After(time.Second):
		p.kill("closed")
		<-p.exited
	}
	p.respR.Close()
}

// tail keeps the first and the last bytes written to it (a crash report
// says what happened at its start and where at its end).
type tail struct {
	mu      sync.Mutex
	max     int
	head    []byte
	b       []byte
	dropped bool
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(b)
	if room := t.max/4 - len(t.head); room > 0 {
		if room > len(b) {
			room = len(b)
		}
		t.head = append(t.head, b[:room]...)
		b = b[room:]
	}
	t.b = append(t.b, b...)
	if len(t.b) > t.max {
		t.b = append([]byte(nil), t.b[len(t.b)-t.max:]...)
		t.dropped = true
	}
	return n, nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dropped {
		return string(t.head) + "\n[...]\n" + string(t.b)
	}
	return string(t.head) + string(t.b)
}

// pool keeps workers warm and bounds how many run at once.
type pool struct {
	o        *Options
	logger   *slog.Logger
	sem      chan struct{} // one token per checked-out worker
	mu       sync.Mutex
	idle     []*proc
	busy     int           // workers checked out
	starting int           // warm workers being started (refill)
	ready    chan struct{} // closed (and replaced) when a started worker turns idle or fails
	reaper   *time.Timer   // ends workers beyond the warm set idle for WorkerIdle; nil when not armed
	closed   bool
	wg       sync.WaitGroup
	done     chan struct{}

	started atomic.Int64 // workers started
	died    atomic.Int64 // workers that died or were killed in a call
}

func newPool(o *Options) *pool {
	return &pool{o: o, logger: o.Logger, sem: make(chan struct{}, o.MaxWorkers), ready: make(chan struct{}), done: make(chan struct{})}
}

// get checks out a worker: an idle one, else one being started for the
// warm set (refill), else one it starts. Among idle workers it prefers
// the one that last ran and has the source key (a cycle compiles a
// candidate, dry-runs it and then runs it installed: one worker compiles
// it once), else the one that ran last.
func (pl *pool) get(ctx context.Context, key string) (*proc, error) {
	if pl.o.Workers < 0 {
		return nil, fmt.Errorf("%w: Options.Workers is negative", ErrNoWorker)
	}
	select {
	case pl.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	for {
		pl.mu.Lock()
		if pl.closed {
			pl.mu.Unlock()
			<-pl.sem
			return nil, ErrClosed
		}
		var p *proc
		if n := len(pl.idle); n > 0 {
			i := n - 1
			for j := n - 1; j >= 0; j-- {
				if pl.idle[j].known[key] {
					i = j
					break
				}
			}
			p = pl.idle[i]
			pl.idle = slices.Delete(pl.idle, i, i+1)
		}
		if p != nil && p.alive() {
			pl.busy++
			pl.mu.Unlock()
			pl.refill()
			return p, nil
		}
		if p == nil && pl.starting > 0 {
			// A warm worker is on its way: starting another would only
			// make one too many.
			ready := pl.ready
			pl.mu.Unlock()
			select {
			case <-ready:
				continue
			case <-ctx.Done():
				<-pl.sem
				return nil, ctx.Err()
			}
		}
		pl.mu.Unlock()
		if p == nil {
			break
		}
		pl.died.Add(1) // it died idle
		pl.retire(p)
	}
	p, err := startProc(ctx, pl.o)
	if err != nil {
		<-pl.sem
		return nil, err
	}
	pl.started.Add(1)
	pl.logger.Debug("live: worker started", "pid", p.cmd.Process.Pid)
	pl.mu.Lock()
	pl.busy++
	pl.mu.Unlock()
	pl.refill()
	return p, nil
}

// retire ends a worker in the background.
func (pl *pool) retire(p *proc) {
	pl.wg.Add(1)
	go func() {
		defer pl.wg.Done()
		p.close()
	}()
}

// put returns a worker after a call; a broken or worn one is ended.
func (pl *pool) put(p *proc, healthy bool) {
	defer func() { <-pl.sem }()
	p.calls++
	pl.mu.Lock()
	pl.busy--
	// A worker beyond the warm set is kept for WorkerIdle: under a steady
	// concurrent load the next call would only start another.
	keep := healthy && !pl.closed && p.alive() && p.calls < pl.o.WorkerCalls &&
		(len(pl.idle) < pl.o.Workers || pl.o.WorkerIdle > 0)
	if keep {
		p.idle = time.Now()
		pl.idle = append(pl.idle, p)
		if pl.extra() > 0 && pl.reaper == nil {
			pl.reaper = time.AfterFunc(pl.o.WorkerIdle, pl.reap)
		}
	}
	pl.mu.Unlock()
	if !keep {
		pl.retire(p)
		pl.refill()
	}
}

// extra is how many workers there are beyond the warm set. pl.mu is held.
func (pl *pool) extra() int {
	return len(pl.idle) + pl.busy + pl.starting - pl.o.Workers
}

// reap ends the workers beyond the warm set that have been idle for
// WorkerIdle, oldest first, and arms itself again for the next one to
// expire while any remain.
func (pl *pool) reap() {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	pl.reaper = nil
	if pl.closed {
		return
	}
	now := time.Now()
	slices.SortStableFunc(pl.idle, func(a, b *proc) int { return a.idle.Compare(b.idle) })
	var next time.Time
	for len(pl.idle) > 0 && pl.extra() > 0 {
		p := pl.idle[0]
		if due := p.idle.Add(pl.o.WorkerIdle); due.After(now) {
			next = due
			break
		}
		pl.idle = pl.idle[1:]
		pl.retire(p)
	}
	if !next.IsZero() {
		pl.reaper = time.AfterFunc(next.Sub(now), pl.reap)
	}
}

// refill starts workers in the background, all at once, until Workers
// are alive, idle, checked out or starting: a checked-out worker comes
// back to the idle list, so starting another for it would only retire one
// of the two on return.
func (pl *pool) refill() {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.closed {
		return
	}
	for n := pl.o.Workers - len(pl.idle) - pl.busy - pl.starting; n > 0; n-- {
		pl.starting++
		pl.wg.Add(1)
		go pl.startWarm()
	}
}

// startWarm starts one warm worker (see refill).
func (pl *pool) startWarm() {
	defer pl.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-pl.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	p, err := startProc(ctx, pl.o)
	pl.mu.Lock()
	pl.starting--
	close(pl.ready) // a waiting get takes this worker, or starts its own
	pl.ready = make(chan struct{})
	switch {
	case err != nil:
		pl.mu.Unlock()
		pl.logger.Warn("live: starting a warm worker failed", "err", err)
	case pl.closed:
		pl.started.Add(1)
		pl.mu.Unlock()
		p.close()
	default:
		pl.started.Add(1)
		pl.idle = append(pl.idle, p)
		pl.mu.Unlock()
	}
}

// count reports idle workers.
func (pl *pool) count() int {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return len(pl.idle)
}

// close ends every idle worker and waits for background starts.
func (pl *pool) close() {
	pl.mu.Lock()
	if pl.closed {
		pl.mu.Unlock()
		return
	}
	pl.closed = true
	close(pl.done)
	if pl.reaper != nil {
		pl.reaper.Stop()
		pl.reaper = nil
	}
	idle := pl.idle
	pl.idle = nil
	pl.mu.Unlock()
	for _, p := range idle {
		p.close()
	}
	pl.wg.Wait()
}
