package psm

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/batos-dev/batos/guardian"
	"github.com/batos-dev/batos/memory"
	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live"
	"github.com/tmc/langchaingo/llms"
)

// Open opens (or creates) the image in dir and wires a mind around it: the
// live runtime, the knowledge catalog, the personas and their models, and
// the cycle as the image's DoesNotUnderstand hook. On the first open it
// performs the awakening in one transaction: traits, pLLM, genesis, the
// four personas, the state prototypes, the orchestrator and the codex in
// memory. Later opens resume; an image awakened by a newer version of this
// library fails with ErrImageVersion.
//
// Host programs that run generated methods isolated (the default) must
// call live.ServeIfWorker first thing in main (and in TestMain).
func Open(ctx context.Context, dir string, opts Options) (*Mind, error) {
	var runner *live.Runner
	var catalog *memory.Catalog
	var router *persona.Router
	audits := newAuditCache(opts.Live.Imports)
	return open(ctx, dir, opts, wiring{
		runner: func(o Options) (uvm.MethodRunner, func() error, error) {
			lo := o.Live
			lo.Policy = o.Policy
			if lo.Logger == nil {
				lo.Logger = o.Logger
			}
			if lo.Audit == nil {
				// The runtime audits (and instruments) what it compiles;
				// the cycle has just audited the same source.
				lo.Audit = audits.instrumented
			} else {
				audits.custom = lo.Audit
			}
			r, err := live.New(lo)
			if err != nil {
				return nil, nil, fmt.Errorf("psm: open: live runtime: %w", err)
			}
			runner = r
			return r, r.Close, nil
		},
		parts: func(ctx context.Context, m *Mind) (parts, func() error, error) {
			po := m.opts.Personas
			if m.opts.Model != nil {
				models := map[string]llms.Model{"": m.opts.Model}
				for k, v := range po.Models {
					models[k] = v
				}
				po.Models = models
			}
			var err error
			if router, err = persona.NewRouter(po); err != nil {
				return parts{}, nil, fmt.Errorf("psm: open: models: %w", err)
			}
			mo := m.opts.Memory
			mo.Codex = nil // seeded by the awakening, in its transaction
			if mo.Logger == nil {
				mo.Logger = m.opts.Logger
			}
			if catalog, err = memory.Open(ctx, m.im, mo); err != nil {
				return parts{}, nil, fmt.Errorf("psm: open: memory: %w", err)
			}
			return realParts(m.im, router, runner, catalog, audits), func() error { return nil }, nil
		},
		awaken: func(ctx context.Context, m *Mind, tx *uvm.Tx) error {
			if err := persona.Incarnate(ctx, tx); err != nil {
				return fmt.Errorf("personas: %w", err)
			}
			if err := runner.SetImagePolicy(tx, m.opts.Policy); err != nil {
				return fmt.Errorf("policy: %w", err)
			}
			if _, err := catalog.IngestCodex(ctx, tx, bytes.NewReader(memory.DefaultCodex()), memory.IngestOptions{}); err != nil {
				return fmt.Errorf("codex: %w", err)
			}
			return nil
		},
	})
}

// Catalog-free helpers the cycle uses, bound to the real packages.
func realParts(im *uvm.Image, router *persona.Router, runner *live.Runner, catalog *memory.Catalog, audits *auditCache) parts {
	return parts{
		ask: func(ctx context.Context, name, prompt string) (string, error) {
			var system string
			err := im.View(ctx, func(tx *uvm.Tx) error {
				var err error
				system, err = persona.SystemPrompt(tx, name)
				return err
			})
			if err != nil {
				return "", err
			}
			return router.Ask(ctx, name, prompt, persona.WithSystem(system))
		},
		parsePlan: func(reply string) ([]string, error) {
			p, err := persona.ParsePlan(reply)
			if err != nil {
				return nil, err
			}
			if len(p.Queries) > 3 {
				p.Queries = p.Queries[:3]
			}
			return p.Queries, nil
		},
		extractCode: persona.ExtractCode,
		audit: func(src, selector string) error {
			_, err := audits.instrumented(src, selector)
			return err
		},
		compile: runner.Check,
		dryRun:  runner.DryRun,
		recall: func(ctx context.Context, queries []string) ([]string, error) {
			seen := map[string]bool{}
			var out []string
			for _, q := range queries {
				res, err := catalog.Search(ctx, q, 3, nil)
				if err != nil {
					return nil, err
				}
				for _, r := range res {
					if !seen[r.ID] {
						seen[r.ID] = true
						out = append(out, strings.TrimSpace(r.Text))
					}
				}
			}
			return out, nil
		},
		search: func(ctx context.Context, query string, k int) ([]any, error) {
			res, err := catalog.Search(ctx, query, k, nil)
			if err != nil {
				return nil, err
			}
			out := make([]any, 0, len(res))
			for _, r := range res {
				out = append(out, map[string]any{
					"id": r.ID, "kind": r.Kind, "source": r.Source,
					"text": r.Text, "similarity": float64(r.Similarity),
				})
			}
			return out, nil
		},
		skills: func(ctx context.Context, query string) ([]string, error) {
			matches, err := catalog.SearchSkills(ctx, query, 3)
			if err != nil {
				return nil, err
			}
			out := make([]string, 0, len(matches))
			for _, s := range matches {
				out = append(out, fmt.Sprintf("%s (object %d, v%d): %s", s.Selector, s.OID, s.Version, s.Intent))
			}
			return out, nil
		},
		learn: func(ctx context.Context, tx *uvm.Tx, target uvm.OID, m uvm.Method) error {
			intent := m.Intent
			if intent == "" {
				intent = "answers the message " + m.Selector
			}
			return catalog.IndexSkill(ctx, tx, memory.Skill{
				OID: target, Selector: m.Selector, Version: m.Version, Intent: intent,
				Signature: "func " + m.Selector + "(self batos.Self, args []any) (any, error)",
				Source:    m.Source,
			})
		},
		personaOf: persona.Of,
		intentOf:  persona.FacetIntent,
	}
}

// auditCache remembers the last few guardian audits, so that the runtime's
// audit of a candidate the cycle has just audited costs nothing. It uses
// the same import allowlist as the runtime.
type auditCache struct {
	opts   guardian.Options
	custom live.AuditFunc // the host's own audit, if it set one

	mu      sync.Mutex
	entries []auditEntry // most recent last
}

type auditEntry struct {
	src, selector, inst string
	err                 error
}

// auditCacheSize covers one cycle's candidates and a few nested cycles'.
const auditCacheSize = 16

func newAuditCache(imports []string) *auditCache {
	return &auditCache{opts: guardian.Options{Imports: imports}}
}

// instrumented audits src for selector and returns the instrumented
// source (a live.AuditFunc).
func (a *auditCache) instrumented(src, selector string) (string, error) {
	a.mu.Lock()
	for i := len(a.entries) - 1; i >= 0; i-- {
		if e := a.entries[i]; e.src == src && e.selector == selector {
			a.mu.Unlock()
			return e.inst, e.err
		}
	}
	a.mu.Unlock()
	var e auditEntry
	e.src, e.selector = src, selector
	if a.custom != nil {
		e.inst, e.err = a.custom(src, selector)
	} else {
		rep, err := guardian.Audit([]byte(src), selector, a.opts)
		if err == nil {
			e.inst = string(rep.Source)
		}
		e.err = err
	}
	a.mu.Lock()
	if len(a.entries) == auditCacheSize {
		a.entries = append(a.entries[:0], a.entries[1:]...)
	}
	a.entries = append(a.entries, e)
	a.mu.Unlock()
	return e.inst, e.err
}
