package psm

import (
	"context"
	"errors"
	"fmt"

	"github.com/batos-dev/batos/memory"
	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live"
)

// Open opens (or creates) the image in dir and wires a mind around it: the
// live runtime, the knowledge catalog, the personas and their models, and
// the cycle as the image's DoesNotUnderstand hook. On the first open it
// performs the awakening in one transaction: traits, pLLM, genesis, the
// four personas, the state prototypes, the orchestrator, the image's
// execution policy and the codex in memory. Later opens resume; an image
// awakened by a newer version of this library fails with ErrImageVersion.
//
// Host programs that run generated methods isolated (the default) must
// call live.ServeIfWorker first thing in main (and in TestMain).
func Open(ctx context.Context, dir string, opts Options) (_ *Mind, err error) {
	m := newMind(opts)
	defer func() {
		if err != nil {
			m.closeParts()
		}
	}()

	runner, err := live.New(m.opts.Live)
	if err != nil {
		return nil, fmt.Errorf("psm: open: live runtime: %w", err)
	}
	m.closers = append(m.closers, runner.Close)
	m.compiler = liveCompiler{runner: runner}

	if err := m.openImage(dir, runner); err != nil {
		return nil, err
	}

	router, err := persona.NewRouter(m.opts.Personas)
	if err != nil {
		return nil, fmt.Errorf("psm: open: models: %w", err)
	}
	m.personas = personaModels{im: m.im, router: router}

	mo := m.opts.Memory
	codex := mo.Codex
	if codex == nil {
		codex = memory.DefaultCodex()
	}
	mo.Codex = nil // the awakening ingests it, in its own transaction
	catalog, err := memory.Open(ctx, m.im, mo)
	if err != nil {
		return nil, fmt.Errorf("psm: open: memory: %w", err)
	}
	m.knowledge = catalogKnowledge{catalog: catalog, codex: codex, source: mo.CodexSource}

	if err := m.start(ctx); err != nil {
		return nil, err
	}
	if err := m.joinKernels(ctx); err != nil {
		return nil, err
	}
	if _, err := m.closeAbandoned(ctx); err != nil {
		return nil, err
	}
	if !m.opts.Retention.zero() {
		if _, err := m.Prune(ctx, PruneOptions{}); err != nil {
			// The audit trail keeps growing; the mind works.
			m.opts.Logger.Error("psm: open: pruning cycle records", "error", err)
		}
	}
	return m, nil
}

// openImage opens the image in dir, run by runner and with the mind's
// hook for messages nothing understands, and closes it with the mind.
func (m *Mind) openImage(dir string, runner uvm.MethodRunner) error {
	im, err := uvm.Open(dir, uvm.Options{
		InMemory:          m.opts.InMemory,
		NoSync:            m.opts.NoSync,
		Logger:            m.opts.Logger,
		Runner:            runner,
		DoesNotUnderstand: hook{m},
	})
	if err != nil {
		return err
	}
	m.im = im
	m.closers = append(m.closers, im.Close)
	return nil
}

// start registers the mind's primitives and awakens the image, or resumes
// it: a later open checks (and upgrades) the image's version and its state
// machine. The collaborators must be bound.
func (m *Mind) start(ctx context.Context) error {
	if err := m.registerPrimitives(); err != nil {
		return err
	}
	if err := m.opts.Policy.check(); err != nil {
		return fmt.Errorf("psm: open: Options.Policy: %w", err)
	}
	if err := m.opts.Retention.check(); err != nil {
		return fmt.Errorf("psm: open: Options.Retention: %w", err)
	}
	err := m.im.Update(ctx, func(tx *uvm.Tx) error {
		g, err := tx.Root(RootGenesis)
		if errors.Is(err, uvm.ErrNotFound) {
			if err := m.awaken(ctx, tx); err != nil {
				return err
			}
			g, err = tx.Root(RootGenesis)
			if err != nil {
				return err
			}
			m.genesis = g.OID()
			return m.absorbAdapters(ctx, tx)
		}
		if err != nil {
			return err
		}
		m.genesis = g.OID()
		if err := checkVersion(tx); err != nil {
			return err
		}
		if m.opts.Policy != (Policy{}) {
			if err := incarnatePolicy(tx, m.opts.Policy, true); err != nil {
				return err
			}
		}
		if _, err = loadMachine(tx); err != nil {
			return err
		}
		return m.absorbAdapters(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("psm: open: %w", err)
	}
	return nil
}
