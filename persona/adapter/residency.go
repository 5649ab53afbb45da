package adapter

import (
	"bytes"
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/uvm"
)

// Tier is where an adapter is kept.
type Tier int

// The three tiers of adapter residency.
const (
	Cold Tier = iota // only in the image
	Warm             // bytes in RAM, ready to load
	Hot              // loaded in the serving engine
)

// String returns "hot", "warm" or "cold".
func (t Tier) String() string {
	switch t {
	case Hot:
		return "hot"
	case Warm:
		return "warm"
	}
	return "cold"
}

// Default residency budgets.
const (
	DefaultHotBudget  = 512 << 20 // bytes of adapters loaded in the engine at once
	DefaultWarmBudget = 2 << 30   // bytes of adapters kept in RAM
)

// Options configure a [Residency]. The zero value means the defaults that
// [DefaultOptions] documents.
type Options struct {
	// HotBudget bounds the bytes of adapters loaded in the engine at once.
	// Zero or negative means DefaultHotBudget.
	HotBudget int64
	// WarmBudget bounds the bytes of adapters kept in RAM. Zero means
	// DefaultWarmBudget; negative means no warm tier.
	WarmBudget int64
	// Dir is where hot adapters' files are written for the engine to read,
	// one folder per adapter. "" means a new temporary folder that Close
	// removes.
	Dir string
	// Engine loads and unloads adapters. Nil means none: tiers and files
	// are kept all the same (for tests, or an engine that watches Dir).
	Engine Engine
	// Logger receives loads, unloads and evictions. Nil discards.
	Logger *slog.Logger
}

// DefaultOptions returns the options with every default filled in (Dir
// stays "", meaning a temporary folder).
func DefaultOptions() Options { return Options{}.withDefaults() }

func (o Options) withDefaults() Options {
	if o.HotBudget <= 0 {
		o.HotBudget = DefaultHotBudget
	}
	if o.WarmBudget == 0 {
		o.WarmBudget = DefaultWarmBudget
	}
	if o.WarmBudget < 0 {
		o.WarmBudget = 0
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Stats counts what a [Residency] did.
type Stats struct {
	HotHits   int // acquisitions of an adapter already hot
	WarmHits  int // loads served from RAM
	ColdReads int // loads that read the image
	Loads     int // engine loads
	Unloads   int // engine unloads
	Evictions int // adapters dropped from RAM to cold
}

// Status is a snapshot of a [Residency].
type Status struct {
	Active    string   // the adapter acquired last
	Hot       []string // most recently used first
	Warm      []string // most recently used first
	HotBytes  int64    // bytes loaded in the engine (within HotBudget)
	WarmBytes int64    // bytes held in RAM (within WarmBudget)
	Stats     Stats    // counters since NewResidency
}

type resident struct {
	a    Adapter
	tier Tier
	data []byte // weights, while warm
	conf []byte // config, while warm
	pins int
	elem *list.Element // in hot or warm
}

// Residency keeps LoRA adapters where they are needed: the active one (and
// as many recently used ones as fit HotBudget) hot in the serving engine,
// recently used ones warm in RAM within WarmBudget (least recently used
// first out), the rest cold in the image. An adapter in use by a call (see
// [Residency.Acquire]) is never unloaded under it. It is safe for
// concurrent use; loads and unloads are serialized. It implements
// [persona.AdapterHost], so a persona's calls make their adapter hot
// first (see persona.Options.AdapterHost).
type Residency struct {
	im     *uvm.Image
	opts   Options
	ownDir bool

	mu        chanMutex
	closed    bool
	entries   map[string]*resident
	hot, warm *list.List // of *resident, front = most recently used
	hotBytes  int64
	warmBytes int64
	active    string
	stats     Stats
	wake      chan struct{} // closed and replaced when a pin is released
}

var _ persona.AdapterHost = (*Residency)(nil)

// chanMutex is a mutex that a waiter can give up on when its context ends.
type chanMutex chan struct{}

func (m chanMutex) lock(ctx context.Context) error {
	select {
	case m <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m chanMutex) unlock() { <-m }

// NewResidency returns a residency manager for the adapters absorbed into
// im (see [Absorb]). Everything starts cold.
func NewResidency(im *uvm.Image, opts Options) (*Residency, error) {
	o := opts.withDefaults()
	own := false
	if o.Dir == "" {
		d, err := os.MkdirTemp("", "batos-adapters-*")
		if err != nil {
			return nil, fmt.Errorf("adapter: residency: %w", err)
		}
		o.Dir, own = d, true
	} else if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("adapter: residency: %w", err)
	}
	return &Residency{im: im, opts: o, ownDir: own, mu: make(chanMutex, 1), entries: map[string]*resident{},
		hot: list.New(), warm: list.New(), wake: make(chan struct{})}, nil
}

// Dir is the folder hot adapters are written to.
func (r *Residency) Dir() string { return r.opts.Dir }

// Activate makes the named adapter hot and active, loading it into the
// engine if needed (and unloading others to stay within HotBudget).
func (r *Residency) Activate(ctx context.Context, name string) error {
	release, err := r.Acquire(ctx, name)
	if err != nil {
		return err
	}
	release()
	return nil
}

// Acquire makes the named adapter hot and active, and pins it until
// release is called, so that no other activation unloads it while a call
// uses it. When every hot adapter is pinned and the new one does not fit,
// Acquire waits for a release or for ctx to end. An adapter larger than
// HotBudget returns ErrOverBudget; an unknown name ErrNotFound.
// release is safe to call more than once.
func (r *Residency) Acquire(ctx context.Context, name string) (release func(), err error) {
	for {
		if err := r.mu.lock(ctx); err != nil {
			return nil, fmt.Errorf("adapter: acquire %q: %w", name, err)
		}
		release, wait, err := r.tryAcquire(ctx, name)
		r.mu.unlock()
		if wait == nil {
			return release, err
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, fmt.Errorf("adapter: acquire %q: every hot adapter is in use: %w", name, ctx.Err())
		}
	}
}

// tryAcquire runs with r.mu held. A non-nil wait means: no room yet, wait
// for it and try again.
func (r *Residency) tryAcquire(ctx context.Context, name string) (func(), <-chan struct{}, error) {
	if r.closed {
		return nil, nil, ErrClosed
	}
	e, err := r.entry(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	if e.tier == Hot {
		r.stats.HotHits++
		r.hot.MoveToFront(e.elem)
		return r.pin(e), nil, nil
	}
	size := e.a.Size()
	if size > r.opts.HotBudget {
		return nil, nil, fmt.Errorf("%w: adapter %q is %d bytes, budget %d", ErrOverBudget, name, size, r.opts.HotBudget)
	}
	// Take the bytes out of the warm tier first, so that making room
	// cannot evict them; they go back if this attempt does not finish.
	var data, conf []byte
	fromWarm := e.tier == Warm
	if fromWarm {
		data, conf = e.data, e.conf
		r.warm.Remove(e.elem)
		r.warmBytes -= size
		e.tier, e.data, e.conf, e.elem = Cold, nil, nil, nil
	}
	for r.hotBytes+size > r.opts.HotBudget {
		victim := r.coldestUnpinned()
		var err error
		if victim != nil {
			err = r.demote(ctx, victim)
		}
		if victim == nil || err != nil {
			if fromWarm {
				r.toWarm(e, data, conf)
			}
			if err != nil {
				return nil, nil, err
			}
			return nil, r.wake, nil
		}
	}
	if fromWarm {
		r.stats.WarmHits++
	} else {
		r.stats.ColdReads++
		if data, conf, err = r.readCold(ctx, e.a); err != nil {
			return nil, nil, err
		}
	}
	dir := filepath.Join(r.opts.Dir, e.a.Name)
	if err := writeAdapterDir(dir, data, conf); err != nil {
		r.toWarm(e, data, conf)
		return nil, nil, err
	}
	if r.opts.Engine != nil {
		if err := r.opts.Engine.LoadAdapter(ctx, e.a.Name, dir); err != nil {
			os.RemoveAll(dir)
			r.toWarm(e, data, conf)
			return nil, nil, err
		}
	}
	r.stats.Loads++
	r.opts.Logger.Info("adapter: hot", "adapter", e.a.Name, "persona", e.a.Persona, "bytes", size)
	e.tier = Hot
	e.elem = r.hot.PushFront(e)
	r.hotBytes += size
	return r.pin(e), nil, nil
}

func (r *Residency) pin(e *resident) func() {
	e.pins++
	r.active = e.a.Name
	released := false
	return func() {
		// Pins are counted under the lock; a release waits for a load in
		// progress to finish, which its own deadline bounds.
		_ = r.mu.lock(context.Background())
		defer r.mu.unlock()
		if released {
			return
		}
		released = true
		e.pins--
		if e.pins == 0 {
			close(r.wake)
			r.wake = make(chan struct{})
		}
	}
}

func (r *Residency) entry(ctx context.Context, name string) (*resident, error) {
	if e, ok := r.entries[name]; ok {
		return e, nil
	}
	var a Adapter
	if err := r.im.View(ctx, func(tx *uvm.Tx) error {
		var err error
		a, err = Find(tx, name)
		return err
	}); err != nil {
		return nil, err
	}
	e := &resident{a: a}
	r.entries[name] = e
	return e, nil
}

func (r *Residency) coldestUnpinned() *resident {
	for el := r.hot.Back(); el != nil; el = el.Prev() {
		if e := el.Value.(*resident); e.pins == 0 {
			return e
		}
	}
	return nil
}

// demote unloads a hot adapter and keeps its bytes warm when they fit.
func (r *Residency) demote(ctx context.Context, e *resident) error {
	if r.opts.Engine != nil {
		if err := r.opts.Engine.UnloadAdapter(ctx, e.a.Name); err != nil {
			return err
		}
	}
	r.stats.Unloads++
	r.opts.Logger.Info("adapter: unloaded", "adapter", e.a.Name)
	r.hot.Remove(e.elem)
	r.hotBytes -= e.a.Size()
	e.tier, e.elem = Cold, nil
	dir := filepath.Join(r.opts.Dir, e.a.Name)
	data, derr := os.ReadFile(filepath.Join(dir, adapterFile))
	conf, cerr := os.ReadFile(filepath.Join(dir, adapterConfigFile))
	os.RemoveAll(dir)
	if derr != nil || int64(len(data)) != e.a.Blob.Size || (e.a.Config.ID != "" && (cerr != nil || int64(len(conf)) != e.a.Config.Size)) {
		return nil // the files are gone or changed: the image still has it
	}
	if e.a.Config.ID == "" {
		conf = nil
	}
	r.toWarm(e, data, conf)
	return nil
}

// toWarm keeps an adapter's bytes in RAM, evicting the least recently used
// warm ones to cold until it fits; one larger than WarmBudget goes cold.
func (r *Residency) toWarm(e *resident, data, conf []byte) {
	size := e.a.Size()
	if size > r.opts.WarmBudget {
		e.tier, e.data, e.conf = Cold, nil, nil
		return
	}
	for r.warmBytes+size > r.opts.WarmBudget {
		old := r.warm.Back().Value.(*resident)
		r.warm.Remove(old.elem)
		r.warmBytes -= old.a.Size()
		old.tier, old.data, old.conf, old.elem = Cold, nil, nil, nil
		r.stats.Evictions++
		r.opts.Logger.Info("adapter: evicted to the image", "adapter", old.a.Name)
	}
	e.tier, e.data, e.conf = Warm, data, conf
	e.elem = r.warm.PushFront(e)
	r.warmBytes += size
}

func (r *Residency) readCold(ctx context.Context, a Adapter) (data, conf []byte, err error) {
	err = r.im.View(ctx, func(tx *uvm.Tx) error {
		var db, cb bytes.Buffer
		db.Grow(int(a.Blob.Size))
		if err := tx.ReadBlob(a.Blob, &db); err != nil {
			return fmt.Errorf("adapter: read %q: %w", a.Name, err)
		}
		if a.Config.ID != "" {
			if err := tx.ReadBlob(a.Config, &cb); err != nil {
				return fmt.Errorf("adapter: read %q config: %w", a.Name, err)
			}
		}
		data, conf = db.Bytes(), cb.Bytes()
		return nil
	})
	if a.Config.ID == "" {
		conf = nil
	}
	return data, conf, err
}

// Files written for the engine in each hot adapter's folder (PEFT layout).
const (
	adapterFile       = "adapter_model.safetensors"
	adapterConfigFile = "adapter_config.json"
)

func writeAdapterDir(dir string, data, conf []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("adapter: write: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, adapterFile), data, 0o644); err != nil {
		os.RemoveAll(dir)
		return fmt.Errorf("adapter: write: %w", err)
	}
	if conf != nil {
		if err := os.WriteFile(filepath.Join(dir, adapterConfigFile), conf, 0o644); err != nil {
			os.RemoveAll(dir)
			return fmt.Errorf("adapter: write: %w", err)
		}
	}
	return nil
}

// Prefetch reads cold adapters into RAM (warm) ahead of their use, within
// WarmBudget; hot and warm ones are left as they are.
func (r *Residency) Prefetch(ctx context.Context, names ...string) error {
	if err := r.mu.lock(ctx); err != nil {
		return err
	}
	defer r.mu.unlock()
	if r.closed {
		return ErrClosed
	}
	for _, n := range names {
		e, err := r.entry(ctx, n)
		if err != nil {
			return err
		}
		if e.tier != Cold {
			continue
		}
		data, conf, err := r.readCold(ctx, e.a)
		if err != nil {
			return err
		}
		r.stats.ColdReads++
		r.toWarm(e, data, conf)
	}
	return nil
}

// Unload moves a hot adapter out of the engine (to warm, if it fits). An
// adapter in use waits for its release; one not hot is left alone.
func (r *Residency) Unload(ctx context.Context, name string) error {
	for {
		if err := r.mu.lock(ctx); err != nil {
			return err
		}
		e, ok := r.entries[name]
		if r.closed || !ok || e.tier != Hot {
			r.mu.unlock()
			return nil
		}
		if e.pins == 0 {
			err := r.demote(ctx, e)
			r.mu.unlock()
			return err
		}
		wait := r.wake
		r.mu.unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Tier reports where the named adapter is now.
func (r *Residency) Tier(name string) Tier {
	_ = r.mu.lock(context.Background())
	defer r.mu.unlock()
	if e, ok := r.entries[name]; ok {
		return e.tier
	}
	return Cold
}

// Status returns a snapshot of the tiers.
func (r *Residency) Status() Status {
	_ = r.mu.lock(context.Background())
	defer r.mu.unlock()
	s := Status{Active: r.active, HotBytes: r.hotBytes, WarmBytes: r.warmBytes, Stats: r.stats}
	for el := r.hot.Front(); el != nil; el = el.Next() {
		s.Hot = append(s.Hot, el.Value.(*resident).a.Name)
	}
	for el := r.warm.Front(); el != nil; el = el.Next() {
		s.Warm = append(s.Warm, el.Value.(*resident).a.Name)
	}
	return s
}

// Forget drops what the manager knows of an adapter that is not hot, so
// that the next use reads its record from the image again (after it was
// absorbed anew, say).
func (r *Residency) Forget(name string) {
	_ = r.mu.lock(context.Background())
	defer r.mu.unlock()
	e, ok := r.entries[name]
	if !ok || e.tier == Hot {
		return
	}
	if e.tier == Warm {
		r.warm.Remove(e.elem)
		r.warmBytes -= e.a.Size()
	}
	delete(r.entries, name)
}

// Close unloads every hot adapter from the engine (also those still in
// use: their calls may fail), drops the warm ones and removes the files it
// wrote. Unload errors are joined and returned; the
// manager is closed all the same.
func (r *Residency) Close(ctx context.Context) error {
	if err := r.mu.lock(ctx); err != nil {
		return err
	}
	defer r.mu.unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	var errs []error
	for el := r.hot.Front(); el != nil; el = el.Next() {
		e := el.Value.(*resident)
		if r.opts.Engine != nil {
			if err := r.opts.Engine.UnloadAdapter(ctx, e.a.Name); err != nil {
				errs = append(errs, err)
			} else {
				r.stats.Unloads++
			}
		}
		os.RemoveAll(filepath.Join(r.opts.Dir, e.a.Name))
	}
	r.hot.Init()
	r.warm.Init()
	r.entries = map[string]*resident{}
	r.hotBytes, r.warmBytes = 0, 0
	if r.ownDir {
		if err := os.RemoveAll(r.opts.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
