package psm

import (
	"context"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/uvm"
)

// The cycle's collaborators are the three small interfaces below. Open
// binds them to the packages persona, memory and uvm/live (wire.go);
// internal tests bind them to fakes. Each also incarnates, at the
// awakening, what it keeps in the image.

// personas are the writers: the models the cycle asks, and what the image
// says about who governs an object.
type personas interface {
	// Ask sends prompt to the persona's model, with the persona's system
	// prompt from the image, and returns the reply. opts are the call's
	// (an observer of its attempts, a bound on its retries).
	Ask(ctx context.Context, persona, prompt string, opts ...persona.AskOption) (string, error)
	// Plan reads one to three memory queries from a reply.
	Plan(reply string) ([]string, error)
	// Code reads the Go source of the method for selector from a reply
	// (the block that declares it, when there are several).
	Code(reply, selector string) (string, error)
	// Model names the model that speaks for persona, for the records.
	Model(persona string) string
	// Of names the persona that governs o.
	Of(tx *uvm.Tx, o *uvm.Object) (string, error)
	// FacetIntent returns the intent of o's facet for selector, if o has one.
	FacetIntent(tx *uvm.Tx, o *uvm.Object, selector string) (intent string, ok bool, err error)
	// Incarnate adds the personas to a new image, in the awakening's tx.
	Incarnate(ctx context.Context, tx *uvm.Tx) error
}

// knowledge is the image's memory as the cycle uses it.
type knowledge interface {
	// Recall searches memory for each query and returns the snippets found.
	Recall(ctx context.Context, queries []string) ([]string, error)
	// Search answers the knowledge catalog's search primitive: at most k
	// results as plain data.
	Search(ctx context.Context, query string, k int) ([]any, error)
	// Skills returns installed methods similar to query, most similar
	// first.
	Skills(ctx context.Context, query string) ([]skill, error)
	// Learn indexes a method installed on target, inside the install's tx.
	Learn(ctx context.Context, tx *uvm.Tx, target uvm.OID, m uvm.Method) error
	// IngestCodex adds the codex to a new image, in the awakening's tx.
	IngestCodex(ctx context.Context, tx *uvm.Tx) error
	// Refresh catches up with other kernels' commits to a shared image.
	Refresh(ctx context.Context) error
}

// compiler is the runtime of generated methods: it turns source into
// candidates, and records the image's execution policy.
type compiler interface {
	// Compile audits and compiles src as the method for selector. The
	// error's text is fed back to the model; a *live.CompileError is a
	// compile failure, any other error the audit's refusal.
	Compile(ctx context.Context, src, selector string) (candidate, error)
	// SetImagePolicy records the image's execution policy, in the
	// awakening's tx.
	SetImagePolicy(tx *uvm.Tx, policy string) error
}

// candidate is source that passed Compile (a *live.Candidate).
type candidate interface {
	// DryRun runs the candidate on o inside tx, which the caller discards.
	DryRun(ctx context.Context, tx *uvm.Tx, o *uvm.Object, args ...any) (any, error)
	// Install installs it on o with meta's persona, cycle and intent, as
	// the next version of its selector, without auditing or compiling it
	// again.
	Install(ctx context.Context, tx *uvm.Tx, o *uvm.Object, meta uvm.Method) (uvm.Method, error)
}
