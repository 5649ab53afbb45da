package psm

import (
	"context"
	"fmt"

	"github.com/batos-dev/batos/persona/adapter"
	"github.com/batos-dev/batos/uvm"
)

// absorbAdapters absorbs the LoRA adapters staged in Options.AdapterDir
// into the image, recording them in tx (the awakening's, or a later
// open's): files absorbed already are not read again.
func (m *Mind) absorbAdapters(ctx context.Context, tx *uvm.Tx) error {
	if m.opts.AdapterDir == "" {
		return nil
	}
	rep, err := adapter.AbsorbIn(ctx, tx, m.opts.AdapterDir)
	if err != nil {
		return fmt.Errorf("adapters staged in %s: %w", m.opts.AdapterDir, err)
	}
	for _, a := range rep.Absorbed {
		m.opts.Logger.Info("psm: absorbed a LoRA adapter", "adapter", a.Name, "persona", a.Persona, "bytes", a.Size(), "source", a.Source)
	}
	for _, s := range rep.Skipped {
		m.opts.Logger.Warn("psm: staged file is no adapter of any persona", "path", s.Path, "reason", s.Reason)
	}
	return nil
}
