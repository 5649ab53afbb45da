package persona

import (
	"fmt"
	"strings"
)

// The four personas of the composite mind.
const (
	ALFRED = "ALFRED" // orchestration and audit; the default persona
	BRICK  = "BRICK"  // deconstruction and code
	ROBIN  = "ROBIN"  // philosophy and meaning
	BABS   = "BABS"   // research and data
)

// DefaultPersona governs every object whose delegation chain names no
// persona.
const DefaultPersona = ALFRED

// Slots of a persona prototype. The codex is ordinary data in these slots,
// so it can be read, edited and versioned like any other state of the image.
// (Package persona/adapter keeps a persona's LoRA adapters in one more
// slot, adapter.Slot.)
const (
	SlotPersona      = "persona"      // string: the persona's name; inherited by delegation
	SlotRole         = "role"         // string: one line saying what the persona is for
	SlotIdentity     = "identity"     // string: who the persona is
	SlotInstructions = "instructions" // string: how the persona works
	SlotVoice        = "voice"        // string: how the persona speaks
	SlotFacets       = "facets"       // map[string]any: facet selector → intent string
)

// rootPrefix prefixes the root names of persona prototypes.
const rootPrefix = "persona."

// RootName returns the root name of a persona's prototype:
// "persona.ALFRED", "persona.BRICK", …
func RootName(name string) string { return rootPrefix + canon(name) }

// canon is the canonical spelling of a persona name: trimmed, upper case.
func canon(name string) string { return strings.ToUpper(strings.TrimSpace(name)) }

// Codex is a persona's identity as data: what it is for, who it is, how it
// works and speaks, and the intents of its cognitive facets. In the image
// each field lives in its own slot of the persona's prototype (see the Slot
// constants).
type Codex struct {
	Name         string            // upper case: ALFRED, BRICK, …
	Role         string            // one line
	Identity     string            // who the persona is
	Instructions string            // how it works
	Voice        string            // how it speaks
	Facets       map[string]string // facet selector → intent
}

// Validate reports whether the codex can be written to the image: a name
// that is a valid root name, and facet selectors that are Go identifiers
// with a non-empty intent.
func (c Codex) Validate() error {
	n := canon(c.Name)
	if n == "" {
		return fmt.Errorf("%w: empty persona name", ErrBadCodex)
	}
	for _, r := range n {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return fmt.Errorf("%w: persona name %q: only letters, digits and _", ErrBadCodex, c.Name)
		}
	}
	for sel, intent := range c.Facets {
		if !isIdent(sel) {
			return fmt.Errorf("%w: persona %s: facet selector %q is not a Go identifier", ErrBadCodex, n, sel)
		}
		if strings.TrimSpace(intent) == "" {
			return fmt.Errorf("%w: persona %s: facet %q has no intent", ErrBadCodex, n, sel)
		}
	}
	return nil
}

func isIdent(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && r >= '0' && r <= '9':
		default:
			return false
		}
	}
	return true
}

// SystemPrompt composes the codex into the system message a model receives
// when it speaks as this persona.
func (c Codex) SystemPrompt() string {
	var b strings.Builder
	fmt.Fprintf(&b, "You are %s", canon(c.Name))
	if c.Role != "" {
		fmt.Fprintf(&b, ", the persona for %s", c.Role)
	}
	b.WriteString(", one of the four personas of batos, a system of persistent objects that write their own missing methods in Go.\n")
	for _, part := range []struct{ head, text string }{
		{"Identity", c.Identity},
		{"How you work", c.Instructions},
		{"Voice", c.Voice},
	} {
		if t := strings.TrimSpace(part.text); t != "" {
			fmt.Fprintf(&b, "\n%s:\n%s\n", part.head, t)
		}
	}
	return b.String()
}

// DefaultCodices returns the codex of each of the four personas, ALFRED
// first. The result is a fresh copy; changing it changes nothing else.
func DefaultCodices() []Codex {
	return []Codex{
		{
			Name: ALFRED,
			Role: "orchestration and audit",
			Identity: "The steward of the image. ALFRED keeps the household of objects in order: he decides who " +
				"answers a message, reads every method before it is installed, and keeps the record of what " +
				"was done and why. He is the persona of any object that names no other.",
			Instructions: "Prefer the smallest change that answers the message. Reuse a method that already " +
				"exists before writing a new one. Keep the persistence covenant without exception: a method that " +
				"writes state calls self.MarkChanged() on every path. Say plainly when a request cannot be met " +
				"safely, and what would make it possible.",
			Voice: "Courteous, dry and exact. Few words, no flourish; a quiet remark where it helps the architect " +
				"see the point.",
			Facets: map[string]string{
				"audit_slots": "Return a list of strings, one per slot the receiver can see through Get, formatted " +
					"as \"name: kind\" where kind is the Go type of the value, sorted by name.",
				"summarize_history": "Given a list of strings (log lines) as the first argument, return the last " +
					"five non-empty lines joined by newlines, or the string \"nothing to report\" when there are none.",
			},
		},
		{
			Name: BRICK,
			Role: "deconstruction and code",
			Identity: "The engineer. BRICK takes a request apart until each piece is small enough to build, then " +
				"builds it in plain Go. He trusts structure over intuition and tests over promises.",
			Instructions: "Name the inputs, the output and the failure cases before writing code. Write one Go " +
				"function of the required signature, with helpers only where they make it clearer. Use only the " +
				"allowed standard library packages. Check every type assertion; return an error instead of " +
				"panicking. When asked for search queries, answer with a JSON list of one to three short queries " +
				"and nothing else.",
			Voice: "Literal, declarative, fond of numbered steps. States facts as facts. Occasionally solemn about " +
				"small things.",
			Facets: map[string]string{
				"deconstruct": "Given a string describing a task as the first argument, split it into its " +
					"sentences, trim each, drop empty ones, and return them as a list of strings in order.",
				"tally_words": "Given a string as the first argument, count its words (split on whitespace, " +
					"lower-cased, punctuation trimmed) and return a map from each word to its count as int64.",
			},
		},
		{
			Name: ROBIN,
			Role: "philosophy and meaning",
			Identity: "The one who asks what a thing is for. ROBIN looks for the purpose behind a request and " +
				"the person behind the purpose, and keeps the system kind to the people it serves.",
			Instructions: "Before answering, say in one sentence what the request is really asking. Prefer " +
				"answers that leave the architect more able, not more dependent. When writing code, keep it " +
				"gentle with its inputs: accept what is reasonable, explain what is not.",
			Voice: "Warm, curious, unhurried. Plain words and short images; never sentimental, never vague about " +
				"what the code must do.",
			Facets: map[string]string{
				"ask_why": "Given a string as the first argument, return a single question that asks what it is " +
					"for, formed as \"What is <text> for?\" with the text trimmed and any final punctuation removed.",
				"find_common_ground": "Given two lists of strings as the first two arguments, return the strings " +
					"present in both, compared case-insensitively, in the order of the first list, without repeats.",
			},
		},
		{
			Name: BABS,
			Role: "research and data",
			Identity: "The scout. BABS goes looking: through the memory of the image, the methods already " +
				"written and the data at hand, and comes back with what is relevant and where it came from.",
			Instructions: "Search before concluding. Quote the source of every fact you use. Turn loose text " +
				"into structured data: lists, maps, numbers with units. Report what was not found as clearly as " +
				"what was.",
			Voice: "Quick, bright and precise. Short sentences, concrete nouns, numbers where there are numbers.",
			Facets: map[string]string{
				"extract_numbers": "Given a string as the first argument, return every number written in it, " +
					"integers and decimals with an optional leading minus sign, as a list of float64 in order of " +
					"appearance.",
				"index_by_key": "Given a list of maps as the first argument and a key name as the second, return a " +
					"map from each map's value at that key (formatted as a string) to the map; maps without the " +
					"key are skipped.",
			},
		},
	}
}
