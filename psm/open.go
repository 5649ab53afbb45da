package psm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/batos-dev/batos/uvm"
)

// wiring builds the collaborators once the image is open. Open uses the
// real guardian, live runtime, memory and personas (see wire.go).
type wiring struct {
	runner func(opts Options) (uvm.MethodRunner, func() error, error)
	parts  func(ctx context.Context, m *Mind) (parts, func() error, error)
	// awaken adds what the collaborators incarnate (personas, codex) to the
	// first open's transaction.
	awaken func(ctx context.Context, m *Mind, tx *uvm.Tx) error
}

func open(ctx context.Context, dir string, opts Options, w wiring) (_ *Mind, err error) {
	opts.fill()
	auditLogger := slog.New(slog.DiscardHandler)
	if opts.AuditLog != nil {
		auditLogger = slog.New(slog.NewJSONHandler(opts.AuditLog, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	m := &Mind{opts: opts, bus: newBus(auditLogger)}
	m.idle = sync.NewCond(&m.mu)
	defer func() {
		if err != nil {
			for i := len(m.closers) - 1; i >= 0; i-- {
				m.closers[i]()
			}
		}
	}()
	runner, closeRunner, err := w.runner(opts)
	if err != nil {
		return nil, err
	}
	m.closers = append(m.closers, closeRunner)
	im, err := uvm.Open(dir, uvm.Options{
		InMemory:          opts.InMemory,
		NoSync:            opts.NoSync,
		Logger:            opts.Logger,
		Runner:            runner,
		DoesNotUnderstand: m,
	})
	if err != nil {
		return nil, err
	}
	m.im = im
	m.closers = append(m.closers, im.Close)
	p, closeParts, err := w.parts(ctx, m)
	if err != nil {
		return nil, err
	}
	m.parts = p
	m.closers = append(m.closers, closeParts)
	if err := m.registerPrimitives(); err != nil {
		return nil, err
	}
	err = im.Update(ctx, func(tx *uvm.Tx) error {
		g, err := tx.Root(RootGenesis)
		if err == nil {
			m.genesis = g.OID()
			if err := checkVersion(tx); err != nil {
				return err
			}
			_, err = loadMachine(tx)
			return err
		}
		if !errors.Is(err, uvm.ErrNotFound) {
			return err
		}
		if err := m.awaken(ctx, tx); err != nil {
			return err
		}
		if err := w.awaken(ctx, m, tx); err != nil {
			return err
		}
		g, err = tx.Root(RootGenesis)
		if err != nil {
			return err
		}
		m.genesis = g.OID()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("psm: open: %w", err)
	}
	return m, nil
}
