package psm

import (
	"bytes"
	"context"
	"strings"

	"github.com/batos-dev/batos/memory"
	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live"
)

// The thin adapters that bind the cycle's collaborators (collaborators.go)
// to the real packages.

// personaModels are the personas of package persona, their models routed
// by a persona.Router.
type personaModels struct {
	im     *uvm.Image
	router *persona.Router
}

func (p personaModels) Ask(ctx context.Context, name, prompt string, opts ...persona.AskOption) (string, error) {
	var system string
	err := p.im.View(ctx, func(tx *uvm.Tx) error {
		var err error
		system, err = persona.SystemPrompt(tx, name)
		return err
	})
	if err != nil {
		return "", err
	}
	return p.router.Ask(ctx, name, prompt, append([]persona.AskOption{persona.WithSystem(system)}, opts...)...)
}

func (personaModels) Plan(reply string) ([]string, error) {
	p, err := persona.ParsePlan(reply)
	if err != nil {
		return nil, err
	}
	if len(p.Queries) > 3 {
		p.Queries = p.Queries[:3]
	}
	return p.Queries, nil
}

func (personaModels) Code(reply, selector string) (string, error) {
	return persona.ExtractCodeFor(reply, selector)
}

func (p personaModels) Model(name string) string { return p.router.Describe(name) }

func (personaModels) Of(tx *uvm.Tx, o *uvm.Object) (string, error) { return persona.Of(tx, o) }

func (personaModels) FacetIntent(tx *uvm.Tx, o *uvm.Object, selector string) (string, bool, error) {
	return persona.FacetIntent(tx, o, selector)
}

func (personaModels) Incarnate(ctx context.Context, tx *uvm.Tx) error {
	return persona.Incarnate(ctx, tx)
}

// catalogKnowledge is the knowledge catalog of package memory.
type catalogKnowledge struct {
	catalog *memory.Catalog
	codex   []byte // ingested at the awakening
	source  string // the codex's source name
}

func (k catalogKnowledge) Refresh(ctx context.Context) error { return k.catalog.Refresh(ctx) }

func (k catalogKnowledge) Recall(ctx context.Context, queries []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, q := range queries {
		// Skills have their own list in the prompt (Skills).
		res, err := k.catalog.SearchKnowledge(ctx, q, 3)
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
}

func (k catalogKnowledge) Search(ctx context.Context, query string, n int) ([]any, error) {
	res, err := k.catalog.Search(ctx, query, n, nil)
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
}

func (k catalogKnowledge) Skills(ctx context.Context, query string) ([]skill, error) {
	matches, err := k.catalog.SearchSkills(ctx, query, 3)
	if err != nil {
		return nil, err
	}
	out := make([]skill, 0, len(matches))
	for _, s := range matches {
		out = append(out, skill{OID: s.OID, Selector: s.Selector, Version: s.Version, Intent: s.Intent, Similarity: s.Similarity})
	}
	return out, nil
}

func (k catalogKnowledge) Learn(ctx context.Context, tx *uvm.Tx, target uvm.OID, m uvm.Method) error {
	intent := m.Intent
	if intent == "" {
		intent = "answers the message " + m.Selector
	}
	return k.catalog.IndexSkill(ctx, tx, memory.Skill{
		OID: target, Selector: m.Selector, Version: m.Version, Intent: intent,
		Signature: "func " + m.Selector + "(self batos.Self, args []any) (any, error)",
		Source:    m.Source,
	})
}

func (k catalogKnowledge) IngestCodex(ctx context.Context, tx *uvm.Tx) error {
	_, err := k.catalog.IngestCodex(ctx, tx, bytes.NewReader(k.codex), memory.IngestOptions{Source: k.source})
	return err
}

// liveCompiler is the runtime of package uvm/live.
type liveCompiler struct{ runner *live.Runner }

func (c liveCompiler) Compile(ctx context.Context, src, selector string) (candidate, error) {
	cand, err := c.runner.Compile(ctx, src, selector)
	if err != nil {
		return nil, err
	}
	return cand, nil
}

func (c liveCompiler) SetImagePolicy(tx *uvm.Tx, policy string) error {
	return c.runner.SetImagePolicy(tx, policy)
}
