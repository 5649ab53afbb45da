package persona

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tmc/langchaingo/llms"
)

// Router maps personas to their models: each persona with a model of its
// own (Options.Models, then Options.Specs), every other persona to the
// default. Every model it hands out is guarded (see [Guard]) with the
// options' Limits. Personas whose specs are equal share one model, so a
// single scripted file answers all of them in one order. A Router is safe
// for concurrent use; it holds no image state.
type Router struct {
	def    *guarded
	routes map[string]*guarded // canonical persona name → model
}

// NewRouter builds the models the options name. Every spec is parsed and
// every client built now, so a bad spec or a missing key fails here, not
// at the first call. No network is used.
func NewRouter(opts Options) (*Router, error) {
	o := opts.withDefaults()
	built := map[string]llms.Model{} // spec text → model, shared
	build := func(spec string) (llms.Model, string, error) {
		sp, err := ParseSpec(spec)
		if err != nil {
			return nil, "", err
		}
		key := sp.Provider + ":" + sp.Model + "@" + sp.URL
		if m, ok := built[key]; ok {
			return m, sp.String(), nil
		}
		m, err := newModel(sp, o)
		if err != nil {
			return nil, "", err
		}
		built[key] = m
		return m, sp.String(), nil
	}
	wrap := func(m llms.Model, name, persona string) *guarded {
		return &guarded{inner: m, persona: persona, name: name, provider: providerOf(m), lim: o.Limits, log: o.Logger}
	}
	host := map[string]llms.Model{}
	for p, m := range o.Models {
		if m != nil {
			host[canon(p)] = m
		}
	}
	r := &Router{routes: map[string]*guarded{}}
	if m, ok := host[""]; ok {
		r.def = wrap(m, fmt.Sprintf("host model %T", m), "")
	} else {
		m, name, err := build(o.Default)
		if err != nil {
			return nil, fmt.Errorf("persona: default model: %w", err)
		}
		r.def = wrap(m, name, "")
	}
	for _, p := range slices.Sorted(maps.Keys(o.Specs)) {
		n := canon(p)
		if n == "" {
			return nil, fmt.Errorf("%w: empty persona name in Specs", ErrBadSpec)
		}
		if _, ok := host[n]; ok {
			continue // the host's model wins
		}
		m, name, err := build(o.Specs[p])
		if err != nil {
			return nil, fmt.Errorf("persona: model of %s: %w", n, err)
		}
		r.routes[n] = wrap(m, name, n)
	}
	for n, m := range host {
		if n != "" {
			r.routes[n] = wrap(m, fmt.Sprintf("host model %T", m), n)
		}
	}
	for p, adapter := range o.Adapters {
		n := canon(p)
		if n == "" || adapter == "" {
			return nil, fmt.Errorf("%w: Adapters needs a persona and an adapter name (got %q: %q)", ErrBadSpec, p, adapter)
		}
		base := r.route(n)
		g := *base
		g.inner = &adapterModel{host: o.AdapterHost, name: adapter, inner: base.inner}
		g.name = base.name + " adapter " + adapter
		r.routes[n] = &g
	}
	return r, nil
}

func (r *Router) route(persona string) *guarded {
	n := canon(persona)
	if g, ok := r.routes[n]; ok {
		return g
	}
	c := *r.def
	c.persona = n
	return &c
}

// Model returns the guarded model of the named persona (the default model
// for a persona without its own). Calls through it carry the persona in
// their context.
func (r *Router) Model(persona string) llms.Model { return r.route(persona) }

// Ask sends a prompt to the persona's model (see [Ask]).
func (r *Router) Ask(ctx context.Context, persona, prompt string, opts ...AskOption) (string, error) {
	return Ask(ctx, r.route(persona), persona, prompt, opts...)
}

// Describe names the model a persona is routed to, for logs and records:
// its spec with credentials redacted, or "host model <type>".
func (r *Router) Describe(persona string) string { return r.route(persona).name }

// String describes the routing in one line, e.g.
// "default=ollama:qwen2.5-coder:7b BRICK=openai:brick@http://gpu:8000/v1".
func (r *Router) String() string {
	parts := []string{"default=" + r.def.name}
	for _, n := range slices.Sorted(maps.Keys(r.routes)) {
		parts = append(parts, n+"="+r.routes[n].name)
	}
	return strings.Join(parts, " ")
}
