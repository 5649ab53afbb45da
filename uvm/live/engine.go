package live

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing/fstest"

	"github.com/traefik/yaegi/interp"
)

// entryFunc is the compiled entry function of a method.
type entryFunc = func(Self, []any) (any, error)

// compiled is one method compiled in one generation.
type compiled struct {
	gen *generation
	fn  entryFunc
	p   prepared
}

// A chain identifies one synchronous chain of calls (one transaction's
// goroutine). A nested send runs on its caller's chain. Chains are told
// apart by address, so the type must not be zero-sized (all zero-sized
// allocations may share one address).
type chain struct{ _ byte }

// generation is one interpreter and the methods compiled into it. Yaegi
// never frees code, so the engine moves on to a fresh generation when one
// is full and lets the old one be collected once no call uses it.
//
// Yaegi is not safe for an Eval running while other goroutines call into
// the same interpreter, so a generation admits either calls (from any
// number of chains) or one compile, with one exception: a chain may compile
// while only its own calls are active, since those are suspended in it.
type generation struct {
	id   int
	in   *interp.Interpreter
	mu   sync.Mutex
	cond *sync.Cond
	// guarded by mu:
	leases    map[*chain]int
	compiling *chain
	fns       map[string]*compiled // by prepared key
	failed    map[string]*CompileError
	methods   int
}

// engine compiles prepared source into generations and caches the result.
type engine struct {
	syms    interp.Exports
	perGen  int
	logger  *slog.Logger
	mu      sync.Mutex
	cur     *generation
	gens    []*generation // generations the cache refers to
	cache   map[string]*compiled
	nextGen int
}

func newEngine(syms interp.Exports, perGen int, logger *slog.Logger) *engine {
	return &engine{syms: syms, perGen: perGen, logger: logger, cache: map[string]*compiled{}}
}

func (e *engine) newGeneration() (*generation, error) {
	in := interp.New(interp.Options{
		SourcecodeFilesystem: fstest.MapFS{}, // never read sources from disk
		Stdin:                strings.NewReader(""),
		Stdout:               io.Discard,
		Stderr:               io.Discard,
		Args:                 []string{"method"},
		Env:                  []string{},
	})
	if err := safeUse(in, e.syms); err != nil {
		return nil, err
	}
	e.nextGen++
	g := &generation{id: e.nextGen, in: in, leases: map[*chain]int{}, fns: map[string]*compiled{}, failed: map[string]*CompileError{}}
	g.cond = sync.NewCond(&g.mu)
	return g, nil
}

func safeUse(in *interp.Interpreter, syms interp.Exports) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("live: loading the sandbox symbols panicked: %s", describePanic(r))
		}
	}()
	return in.Use(syms)
}

// lookup returns the cached compiled method, if any.
func (e *engine) lookup(key string) *compiled {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cache[key]
}

// stats reports the live generations and cached methods.
func (e *engine) stats() (gens, methods, current int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cur != nil {
		current = e.cur.id
	}
	return len(e.gens), len(e.cache), current
}

// get returns p compiled, compiling it into the current generation if
// needed. ch is the calling chain.
func (e *engine) get(ch *chain, p prepared, version int) (*compiled, error) {
	if c := e.lookup(p.Key); c != nil {
		return c, nil
	}
	for attempt := 0; ; attempt++ {
		g, err := e.target(attempt > 0)
		if err != nil {
			return nil, err
		}
		c, err, busy := g.compile(ch, p, version)
		if busy {
			continue // other chains are calling into g: use a fresh generation
		}
		if err != nil {
			return nil, err
		}
		e.mu.Lock()
		if e.gensHas(g) {
			e.cache[p.Key] = c
		}
		e.mu.Unlock()
		return c, nil
	}
}

func (e *engine) gensHas(g *generation) bool {
	for _, x := range e.gens {
		if x == g {
			return true
		}
	}
	return false
}

// maxGenerations bounds how many generations the cache may refer to; past
// it, the cache lets go of all but the newest.
const maxGenerations = 3

// target returns the generation to compile into: the current one, or a
// fresh one when the current one is full or (fresh=true) busy.
func (e *engine) target(fresh bool) (*generation, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cur != nil && !fresh {
		e.cur.mu.Lock()
		full := e.cur.methods >= e.perGen
		e.cur.mu.Unlock()
		if !full {
			return e.cur, nil
		}
	}
	g, err := e.newGeneration()
	if err != nil {
		return nil, err
	}
	full := e.cur != nil && !fresh
	e.cur = g
	e.gens = append(e.gens, g)
	if full || len(e.gens) > maxGenerations {
		// Drop every older generation from the cache: its methods compile
		// again, into g, on their next send; the old interpreter is
		// collected once the calls still using it return.
		for k, c := range e.cache {
			if c.gen != g {
				delete(e.cache, k)
			}
		}
		e.gens = []*generation{g}
	}
	e.logger.Debug("live: new interpreter generation", "generation", g.id, "live", len(e.gens))
	return g, nil
}

// compile compiles p into g. busy reports that other chains hold calls in g.
func (g *generation) compile(ch *chain, p prepared, version int) (c *compiled, err error, busy bool) {
	g.mu.Lock()
	for {
		if c := g.fns[p.Key]; c != nil {
			g.mu.Unlock()
			return c, nil, false
		}
		if ce := g.failed[p.Key]; ce != nil {
			g.mu.Unlock()
			return nil, withVersion(ce, version), false
		}
		if g.compiling != nil {
			g.cond.Wait()
			continue
		}
		for holder := range g.leases {
			if holder != ch {
				g.mu.Unlock()
				return nil, nil, true
			}
		}
		break
	}
	g.compiling = ch
	g.mu.Unlock()

	fn, cerr := evalMethod(g.in, p, version)

	g.mu.Lock()
	g.compiling = nil
	g.methods++
	if cerr != nil {
		g.failed[p.Key] = cerr
	} else {
		c = &compiled{gen: g, fn: fn, p: p}
		g.fns[p.Key] = c
	}
	g.cond.Broadcast()
	g.mu.Unlock()
	if cerr != nil {
		return nil, cerr, false
	}
	return c, nil, false
}

func withVersion(ce *CompileError, version int) *CompileError {
	c := *ce
	c.Version = version
	return &c
}

// begin admits a call on chain ch into g; end releases it.
func (g *generation) begin(ch *chain) {
	g.mu.Lock()
	for g.compiling != nil && g.compiling != ch {
		g.cond.Wait()
	}
	g.leases[ch]++
	g.mu.Unlock()
}

func (g *generation) end(ch *chain) {
	g.mu.Lock()
	if g.leases[ch]--; g.leases[ch] <= 0 {
		delete(g.leases, ch)
	}
	g.cond.Broadcast()
	g.mu.Unlock()
}

// evalMethod compiles prepared source and fetches its entry function,
// turning every failure (including a panic inside Yaegi) into a
// *CompileError.
func evalMethod(in *interp.Interpreter, p prepared, version int) (fn entryFunc, err *CompileError) {
	defer func() {
		if r := recover(); r != nil {
			fn, err = nil, &CompileError{Selector: p.Selector, Version: version, Msg: "the interpreter failed on this source: " + describePanic(r)}
		}
	}()
	if _, e := in.Eval(p.Source); e != nil {
		ce := compileErrorFrom(p.Selector, version, e)
		ce.Msg = strings.ReplaceAll(ce.Msg, p.Pkg, "the method's package")
		return nil, ce
	}
	v, e := in.Eval(p.Pkg + "." + p.Selector)
	if e != nil {
		return nil, compileErrorFrom(p.Selector, version, e)
	}
	if !v.IsValid() || !v.CanInterface() {
		return nil, &CompileError{Selector: p.Selector, Version: version, Msg: fmt.Sprintf("%s is not a function", p.Selector)}
	}
	f, ok := v.Interface().(entryFunc)
	if !ok {
		return nil, &CompileError{Selector: p.Selector, Version: version, Msg: fmt.Sprintf("%s has type %s; want func(self batos.Self, args []any) (any, error)", p.Selector, typeName(v.Type()))}
	}
	return f, nil
}
