package psm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/batos-dev/batos/memory"
	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live"
	"github.com/tmc/langchaingo/llms"
)

// Execution policies for generated methods (see uvm/live).
const (
	PolicyIsolated  = live.PolicyIsolated
	PolicyInProcess = live.PolicyInProcess
)

// ImageVersion is the version of the primordial objects this library
// incarnates. Open upgrades an image awakened by an older version (in one
// transaction, recorded in the orchestrator's image_version slot); an image
// awakened by a newer version fails to open with ErrImageVersion.
//
// Version 2 added the knowledge catalog object and the behaviour, retry
// and on_failure slots of the state prototypes. Version 3 made every
// primordial object delegate to traits, which holds the image-wide
// generation policy (SlotGeneration, SlotAllowNearMisses).
const ImageVersion = 3

// Options configure a Mind. The zero value plus a model (Model, or specs
// in Personas) is a working durable mind; DefaultOptions documents every
// default.
//
// Personas, Memory and Live are the options of the packages persona,
// memory and uvm/live, under one rule: every field means what its package
// documents, and none is ignored or overridden. Open passes them to
// persona.NewRouter, memory.Open and live.New; the codex (Memory.Codex) is
// ingested by the awakening, in the awakening's transaction, rather than
// by memory.Open in transactions of its own. Two fields of Options are
// shorthands that fill only what those options leave zero: Model
// (Personas.Models[""]) and Logger (their Loggers).
type Options struct {
	// InMemory keeps the image in memory (tests); the directory must be "".
	InMemory bool
	// NoSync turns off fsync per commit (tests, benchmarks of logic).
	NoSync bool
	// Model answers for every persona without a model of its own: it fills
	// Personas.Models[""] when that is unset.
	Model llms.Model
	// Personas routes personas to models (specs, per-persona models, keys,
	// per-call limits: deadline and reply size). See persona.Options.
	Personas persona.Options
	// Memory configures the knowledge catalog (embedder, chunking; see
	// memory.Options). Its Codex is the codex the awakening ingests, in
	// the awakening's transaction, under Memory.CodexSource; nil means
	// memory.DefaultCodex(). A later Open does not ingest it again.
	Memory memory.Options
	// Live configures the runtime of generated methods (budgets, workers;
	// see live.Options). Live.Policy, the execution policy of methods that
	// name none, is also recorded in the image at the awakening
	// (live.Runner.SetImagePolicy), so it stays the image's default on
	// later opens: PolicyIsolated (the default) or PolicyInProcess.
	Live live.Options
	// MaxAttempts bounds SYNTHESIZING→VALIDATING rounds. Zero means 3.
	MaxAttempts int
	// MaxNesting bounds cycles started from inside other cycles' dry runs
	// or generated methods. Zero means 2; negative means none.
	MaxNesting int
	// MaxNestedCycles bounds how many nested cycles one cycle's dry runs
	// may start in all (a candidate sending one unknown message after
	// another). Zero means 8.
	MaxNestedCycles int
	// MaxModelCalls bounds the model calls of one cycle: every request a
	// model receives for it (retries included), from every persona, in
	// every attempt, with the infer sends of its dry runs and the calls of
	// the cycles nested in it. A call past it is refused with
	// ErrModelBudget. Zero means DefaultMaxModelCalls (64); negative means
	// no bound.
	MaxModelCalls int
	// MaxInferCalls bounds the model calls (infer sends) of one top-level
	// call of a generated method, with the sends nested in it, in a dry
	// run as after install; past it the call fails with ErrModelBudget.
	// Zero means DefaultMaxInferCalls (4); negative means none: generated
	// methods may not call a model at all.
	MaxInferCalls int
	// MaxConcurrentCycles bounds the top-level cycles that run at once
	// (a nested cycle runs in its outer cycle's turn); a cycle beyond it
	// waits for a turn as long as one of its senders waits. Zero
	// means 8; negative means no bound. Cycles that dry-run isolated
	// (the default) each hold a worker while they do: Live.Workers
	// workers are kept warm, and more are started (up to
	// Live.MaxWorkers) and stopped again as needed.
	MaxConcurrentCycles int
	// MaxInstallRetries bounds how often COMPLETE validates its method
	// again on a fresh snapshot and commits it again after its install
	// conflicted with a concurrent commit (the model is not asked
	// again). Zero means 3, or 8 on an image other kernels share
	// (PostgreSQL), where serializable transactions also fail each other
	// over keys that merely share index pages; negative means none.
	MaxInstallRetries int
	// ReuseThreshold is the similarity (0 to 1, as the skill index
	// measures it with Memory's embedder) from which an installed method
	// is tried as the answer to a mission before the model is asked (see
	// Reuse). Zero means 0.85, which with the offline embedder takes
	// methods of the same or nearly the same selector; negative (or NaN,
	// which no similarity reaches) turns reuse off.
	ReuseThreshold float64
	// Retention is how long cycle records are kept (see Mind.Prune):
	// Open prunes with it, and so does Mind.Prune given zero options.
	// The zero value keeps every record; a negative limit makes Open
	// fail with ErrPruneOptions.
	Retention PruneOptions
	// CycleTimeout bounds a whole cycle, on top of the caller's context.
	// Zero means no bound beyond the caller's (each model call still has
	// its own deadline, from Personas.Limits).
	CycleTimeout time.Duration
	// Policy is the image-wide generation policy (see Policy), recorded on
	// traits at the awakening: the zero value means GenerateAuto with the
	// typo guard on. At a later open a non-zero Policy replaces the one on
	// traits; the zero value keeps it. Objects may hold policies of their
	// own (Mind.SetPolicy).
	Policy Policy
	// Kernel names this Mind among the kernels that share its image (one
	// in a database several processes open; see uvm.Image.Shared): its
	// leases and its cycle records carry it. Two open Minds must not share
	// a name (Open fails with ErrKernelInUse). "" means the host name, the
	// process id and a random tail. An image no other process shares
	// ignores it.
	Kernel string
	// LeaseTTL is how long a kernel's leases (its own, and that of each
	// cycle it runs) last without renewal; they are renewed every third
	// of it. A kernel that dies holds up the cycles it was running for at
	// most this long before another kernel takes them over. Zero means
	// DefaultLeaseTTL (10 s). An image no other process shares ignores it.
	LeaseTTL time.Duration
	// AdapterDir names a folder of LoRA adapters staged for the image (see
	// persona/adapter.Absorb for its layout). The awakening absorbs them,
	// in its transaction; every later open absorbs those staged since (a
	// file already absorbed is not read again). "" means none.
	AdapterDir string
	// AuditLog receives every cycle event as a JSON line (log/slog). Nil
	// means no audit file (records in the image are still written). The
	// writer is the host's, and so is its rotation.
	AuditLog io.Writer
	// Logger receives operational messages, and those of the personas,
	// memory and the live runtime where Personas.Logger, Memory.Logger or
	// Live.Logger is nil. Nil discards them.
	Logger *slog.Logger
}

// DefaultOptions returns Options with every default filled in.
func DefaultOptions() Options {
	var o Options
	o.fill()
	return o
}

func (o *Options) fill() {
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 3
	}
	if o.MaxNesting == 0 {
		o.MaxNesting = 2
	}
	if o.MaxNesting < 0 {
		o.MaxNesting = 0
	}
	if o.MaxNestedCycles <= 0 {
		o.MaxNestedCycles = 8
	}
	if o.MaxConcurrentCycles == 0 {
		o.MaxConcurrentCycles = 8
	}
	if o.ReuseThreshold == 0 {
		o.ReuseThreshold = 0.85
	}
	if o.MaxInstallRetries < 0 {
		o.MaxInstallRetries = -1 // none; zero stays: it is chosen at Open (Mind.installRetries)
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = DefaultLeaseTTL
	}
	if o.Kernel == "" {
		o.Kernel = defaultKernelName()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Model != nil && o.Personas.Models[""] == nil {
		models := maps.Clone(o.Personas.Models) // the caller's map stays as it was
		if models == nil {
			models = map[string]llms.Model{}
		}
		models[""] = o.Model
		o.Personas.Models = models
	}
	if o.Personas.Logger == nil {
		o.Personas.Logger = o.Logger
	}
	if o.Memory.Logger == nil {
		o.Memory.Logger = o.Logger
	}
	if o.Live.Logger == nil {
		o.Live.Logger = o.Logger
	}
}

// policy is the execution policy the awakening records: Live.Policy, or
// the live runtime's default.
func (o *Options) policy() string {
	if o.Live.Policy != "" {
		return o.Live.Policy
	}
	return live.DefaultOptions().Policy
}

// Mind is a batos image wired to its personas, memory, guardian and live
// runtime: send it a message nothing understands and it writes the method.
type Mind struct {
	opts    Options
	im      *uvm.Image
	genesis uvm.OID

	// The collaborators a cycle asks (collaborators.go).
	personas  personas
	knowledge knowledge
	compiler  compiler

	bus          *bus
	flights      flights
	turns        turns         // bounds the top-level cycles at once (parallel.go)
	installLocks installLocks  // installs into one part of an object take turns (parallel.go)
	cycleIDs     atomic.Uint64 // numbers the cycles this Mind starts
	kernel       *kernel       // on an image other kernels share (kernels.go)
	closers      []func() error

	mu       sync.Mutex
	idle     *sync.Cond
	inflight int
	closed   bool
}

// newMind returns a Mind with filled options and no image or
// collaborators yet.
func newMind(opts Options) *Mind {
	opts.fill()
	auditLogger := slog.New(slog.DiscardHandler)
	if opts.AuditLog != nil {
		auditLogger = slog.New(slog.NewJSONHandler(opts.AuditLog, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	m := &Mind{opts: opts, bus: newBus(auditLogger), turns: newTurns(opts.MaxConcurrentCycles)}
	m.idle = sync.NewCond(&m.mu)
	return m
}

func (m *Mind) enter() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.inflight++
	return nil
}

func (m *Mind) leave() {
	m.mu.Lock()
	m.inflight--
	if m.inflight == 0 {
		m.idle.Broadcast()
	}
	m.mu.Unlock()
}

// isClosed reports whether Close has begun.
func (m *Mind) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

// Image returns the mind's image.
func (m *Mind) Image() *uvm.Image { return m.im }

// Genesis returns the OID of the genesis object.
func (m *Mind) Genesis() uvm.OID { return m.genesis }

// Subscribe calls fn for every cycle event as it happens, until the
// returned function is called. fn runs on the cycle's goroutine: keep it
// quick, or hand the event to a channel.
func (m *Mind) Subscribe(fn func(Event)) (cancel func()) { return m.bus.subscribe(fn) }

// Send sends a message to an object in its own transaction. A selector
// nothing answers starts a cognitive cycle; Send then returns the answer of
// the method the cycle wrote, or a *CycleError saying which state failed.
// A selector that is not a Go identifier names no method (a data slot may
// have such a name): nothing answering it, it fails at once, without a
// cycle, with an error matching uvm.ErrNotUnderstood and uvm.ErrBadName.
func (m *Mind) Send(ctx context.Context, oid uvm.OID, selector string, args ...any) (any, error) {
	if err := m.enter(); err != nil {
		return nil, err
	}
	m.leave() // the cycle, if any, holds the mind open itself
	return m.im.Send(ctx, oid, selector, args...)
}

// Close waits for running cycles, then closes the runtime and the image.
// A cycle that had not started yet (its sender waiting for a turn, see
// Options.MaxConcurrentCycles) does not start: its sender gets ErrClosed,
// as a send after Close does.
func (m *Mind) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	for m.inflight > 0 {
		m.idle.Wait()
	}
	m.mu.Unlock()
	var errs []error
	for i := len(m.closers) - 1; i >= 0; i-- {
		errs = append(errs, m.closers[i]())
	}
	return errors.Join(errs...)
}

// closeParts closes what a failed Open had opened, most recent first.
func (m *Mind) closeParts() {
	for i := len(m.closers) - 1; i >= 0; i-- {
		_ = m.closers[i]()
	}
	m.closers = nil
}

// Root names of the primordial objects.
const (
	RootGenesis      = "genesis"
	RootTraits       = "traits"
	RootLLM          = "pLLM"
	RootOrchestrator = "psm.orchestrator"
	RootKnowledge    = "knowledge"
)

// StateRoot returns the root name of a state prototype.
func StateRoot(s State) string { return "psm.state." + string(s) }

// awaken incarnates the primordial objects in tx (first open only), and
// has the collaborators incarnate theirs: the personas, the image's
// execution policy and the codex.
func (m *Mind) awaken(ctx context.Context, tx *uvm.Tx) error {
	traits, err := tx.New()
	if err != nil {
		return err
	}
	set := func(o *uvm.Object, kv ...any) error {
		for i := 0; i < len(kv); i += 2 {
			if err := o.Set(kv[i].(string), kv[i+1]); err != nil {
				return err
			}
		}
		return nil
	}
	if err := set(traits,
		"name", "traits",
		"clone", uvm.Primitive{Name: primClone},
		"doesNotUnderstand", uvm.Primitive{Name: primDNU},
	); err != nil {
		return err
	}
	if err := m.opts.Policy.set(traits); err != nil {
		return err
	}
	llm, err := tx.New()
	if err != nil {
		return err
	}
	if err := set(llm, "name", "pLLM", "infer", uvm.Primitive{Name: primInfer}); err != nil {
		return err
	}
	genesis, err := tx.New()
	if err != nil {
		return err
	}
	if err := set(genesis, "name", "genesis"); err != nil {
		return err
	}
	if err := genesis.SetParents(llm, traits); err != nil {
		return err
	}
	orch, err := tx.New()
	if err != nil {
		return err
	}
	if err := set(orch,
		"name", "orchestrator",
		"image_version", ImageVersion,
		"max_attempts", m.opts.MaxAttempts,
		"policy", m.opts.policy(),
		"awakened", time.Now().UTC().Format(time.RFC3339),
	); err != nil {
		return err
	}
	if err := incarnateStates(tx); err != nil {
		return err
	}
	if err := incarnateKnowledge(tx); err != nil {
		return err
	}
	for name, o := range map[string]*uvm.Object{RootTraits: traits, RootLLM: llm, RootGenesis: genesis, RootOrchestrator: orch} {
		if err := tx.SetRoot(name, o); err != nil {
			return err
		}
	}
	// What the collaborators keep in the image.
	if err := m.personas.Incarnate(ctx, tx); err != nil {
		return fmt.Errorf("personas: %w", err)
	}
	if err := delegateToTraits(tx); err != nil {
		return fmt.Errorf("traits: %w", err)
	}
	if err := m.compiler.SetImagePolicy(tx, m.opts.policy()); err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	if err := m.knowledge.IngestCodex(ctx, tx); err != nil {
		return fmt.Errorf("codex: %w", err)
	}
	return nil
}

// checkVersion refuses images awakened by a newer, unknown version, and
// upgrades older ones in tx.
func checkVersion(tx *uvm.Tx) error {
	orch, err := tx.Root(RootOrchestrator)
	if err != nil {
		return fmt.Errorf("%w: the image has genesis but no orchestrator: %v", ErrImageVersion, err)
	}
	v, _ := orch.Get("image_version")
	n, ok := v.(int64)
	if !ok || n < 1 {
		return fmt.Errorf("%w: orchestrator (object %d) has no valid image_version (got %v)", ErrImageVersion, orch.OID(), v)
	}
	if n > ImageVersion {
		return fmt.Errorf("%w: image version %d, this library knows up to %d", ErrImageVersion, n, ImageVersion)
	}
	if n == ImageVersion {
		return nil
	}
	// 1 → 2: states name their behaviours; the knowledge catalog exists.
	if err := incarnateStates(tx); err != nil {
		return fmt.Errorf("upgrading the image from version %d: %w", n, err)
	}
	if err := incarnateKnowledge(tx); err != nil {
		return fmt.Errorf("upgrading the image from version %d: %w", n, err)
	}
	// 2 → 3: the primordial objects delegate to traits, which holds the
	// image-wide generation policy.
	if err := upgradeTo3(tx); err != nil {
		return fmt.Errorf("upgrading the image from version %d: %w", n, err)
	}
	return orch.Set("image_version", ImageVersion)
}

// incarnateKnowledge creates the knowledge catalog object, unless the
// image has one: the face of memory in the image, answering search.
func incarnateKnowledge(tx *uvm.Tx) error {
	if _, err := tx.Root(RootKnowledge); err == nil || !errors.Is(err, uvm.ErrNotFound) {
		return err
	}
	k, err := tx.New()
	if err != nil {
		return err
	}
	for _, kv := range []struct {
		slot  string
		value any
	}{
		{"name", "knowledge catalog"},
		{"description", "Memory of the image: the codex and every learned method, searched by meaning. Send it search(query) or search(query, k)."},
		{"search", uvm.Primitive{Name: primSearch}},
	} {
		if err := k.Set(kv.slot, kv.value); err != nil {
			return err
		}
	}
	return tx.SetRoot(RootKnowledge, k)
}

// Names of the primitives the mind registers.
const (
	primClone  = "traits.clone"
	primDNU    = "traits.doesNotUnderstand"
	primInfer  = "pLLM.infer"
	primSearch = "knowledge.search"
)

func (m *Mind) registerPrimitives() error {
	clone := func(ctx context.Context, c *uvm.Call) (any, error) {
		o, err := c.Tx.Clone(c.Receiver)
		if err != nil {
			return nil, err
		}
		return o.Ref(), nil
	}
	dnu := func(ctx context.Context, c *uvm.Call) (any, error) {
		if len(c.Args) == 0 {
			return nil, errors.New("psm: doesNotUnderstand needs a selector argument")
		}
		sel, ok := c.Args[0].(string)
		if !ok {
			return nil, fmt.Errorf("psm: doesNotUnderstand: selector must be a string, got %T", c.Args[0])
		}
		if err := uvm.CheckName(sel); err != nil {
			return nil, err
		}
		return m.notUnderstood(ctx, &uvm.Message{Tx: c.Tx, Receiver: c.Receiver, Selector: sel, Args: c.Args[1:]})
	}
	infer := func(ctx context.Context, c *uvm.Call) (any, error) {
		persona, prompt := "ALFRED", ""
		switch len(c.Args) {
		case 1:
			prompt, _ = c.Args[0].(string)
		case 2:
			persona, _ = c.Args[0].(string)
			prompt, _ = c.Args[1].(string)
		}
		if prompt == "" {
			return nil, errors.New("psm: infer takes (prompt) or (persona, prompt), both strings")
		}
		return m.infer(ctx, persona, prompt)
	}
	search := func(ctx context.Context, c *uvm.Call) (any, error) {
		if len(c.Args) == 0 || len(c.Args) > 2 {
			return nil, errors.New("psm: search takes (query) or (query, k)")
		}
		q, ok := c.Args[0].(string)
		if !ok || strings.TrimSpace(q) == "" {
			return nil, fmt.Errorf("psm: search: the query must be a non-empty string, got %T", c.Args[0])
		}
		k := int64(5)
		if len(c.Args) == 2 {
			if k, ok = c.Args[1].(int64); !ok || k < 1 || k > 100 {
				return nil, fmt.Errorf("psm: search: k must be an integer from 1 to 100, got %v", c.Args[1])
			}
		}
		return m.knowledge.Search(ctx, q, int(k))
	}
	for name, fn := range map[string]uvm.PrimitiveFunc{primClone: clone, primDNU: dnu, primInfer: infer, primSearch: search} {
		if err := m.im.RegisterPrimitive(name, fn); err != nil {
			return err
		}
	}
	return nil
}
