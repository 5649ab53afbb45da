package persona

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/tmc/langchaingo/llms"
)

// Recording is an llms.Model that passes every call to another model and
// writes what it saw to a script: one JSON line per reply, the [Reply] a
// [Scripted] model gives back for the same call. Each line holds the
// call's persona (from the context, see [WithPersona]), the whole prompt
// (Reply.Prompt: every text part of every message, as [PromptText] joins
// them) and the reply's text, with its stop reason when it is not "stop"
// (and Ollama's done_reason "length", which its client drops, as
// "length").
// Replayed (ParseScript, or a "scripted:FILE" spec), the script answers
// the same conversation with the same replies, byte for byte, and a call
// whose prompt is not the recorded one is a *DriftError.
//
// A call the wrapped model fails (or whose wire a guard's transport saw
// fail: an HTTP error, a lost connection, a stall) is passed on as it is
// and written as a comment line ("# call 3 failed (not replayed): …"): the retry that
// usually follows is what the script replays. Writes go to the writer one
// whole line at a time, under a lock, so an *os.File holds a valid script
// after every call; a write that fails fails the call (a recording that
// cannot record is not a recording).
//
//	f, err := os.Create("testdata/greet.jsonl")
//	rec := persona.NewRecording(ollamaModel, f)
//	mind, err := psm.Open(ctx, dir, psm.Options{Model: rec}) // … run the cycles, close f
//	// later, offline:  psm.Options{Personas: persona.Options{Default: "scripted:testdata/greet.jsonl"}}
//
// A Recording is safe for concurrent use, but the script holds replies in
// the order the calls ended; it replays faithfully a conversation whose
// calls are made one at a time (one cycle at a time).
type Recording struct {
	inner llms.Model
	w     io.Writer

	mu     sync.Mutex
	header bool
	calls  []RecordedCall
}

var _ llms.Model = (*Recording)(nil)

// RecordedCall is one call a [Recording] passed on.
type RecordedCall struct {
	Persona string // the persona of the call, "" when unknown
	Prompt  string // the whole prompt (see PromptText)
	Reply   Reply  // the script line written for it; zero when the call failed
	Err     error  // the wrapped model's error, when the call failed
}

// NewRecording returns a model that answers as m does and writes every
// call's prompt and reply to w as a script (see [Recording]).
func NewRecording(m llms.Model, w io.Writer) *Recording {
	return &Recording{inner: m, w: w}
}

// Unwrap returns the recorded model. A [Guard] looks through it to know
// the provider's protocol (an Ollama or OpenAI client always streams).
func (r *Recording) Unwrap() llms.Model { return r.inner }

// Call implements llms.Model.
func (r *Recording) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, r, prompt, options...)
}

// GenerateContent implements llms.Model: it calls the recorded model and
// writes the reply (or, for a failed call, a comment) to the script.
func (r *Recording) GenerateContent(ctx context.Context, msgs []llms.MessageContent, options ...llms.CallOption) (*llms.ContentResponse, error) {
	call := RecordedCall{Persona: PersonaFrom(ctx), Prompt: PromptText(msgs)}
	resp, err := r.inner.GenerateContent(ctx, msgs, options...)
	var wire wireFacts
	if st := stateFrom(ctx); st != nil {
		wire = st.snapshot() // what a guard's transport saw of this call
	}
	var line []byte
	switch {
	case err != nil:
		call.Err = err
	case wire.httpErr != nil || wire.dropped != nil || wire.overflow || wire.stalled || wire.malformed != "":
		// The client made a reply of it, but the guard will not: a lost
		// connection, an HTTP error the client swallowed, a stall.
		call.Err = fmt.Errorf("the wire failed: %s", wire.describe())
	case resp == nil || len(resp.Choices) == 0 || resp.Choices[0] == nil:
		// Nothing to replay: a guard calls this an empty reply, and so will
		// the script's empty line.
		call.Reply = Reply{Persona: call.Persona, Prompt: call.Prompt, StopReason: "stop"}
	default:
		c := resp.Choices[0]
		stop := c.StopReason
		if stop == "stop" {
			stop = "" // the default
		}
		if stop == "" && ollamaLength.MatchString(wire.tail) {
			stop = "length" // Ollama's done_reason, which its client drops
		}
		if c.Content == "" && stop == "" {
			stop = "stop" // an empty reply needs one to be a valid line
		}
		call.Reply = Reply{Persona: call.Persona, Prompt: call.Prompt, Text: c.Content, StopReason: stop}
	}
	if call.Err == nil {
		b, merr := json.Marshal(call.Reply)
		if merr != nil {
			return nil, fmt.Errorf("persona: recording: %w", merr)
		}
		line = append(b, '\n')
	}
	if werr := r.write(call, line); werr != nil {
		return nil, werr
	}
	return resp, err
}

// write appends the call and writes its line (or its failure comment).
func (r *Recording) write(call RecordedCall, line []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call)
	var b []byte
	if !r.header {
		b = fmt.Appendf(b, "# batos recording of %T: one reply per line, replayed by a scripted:FILE model\n", r.inner)
	}
	if line == nil {
		msg := strings.Join(strings.Fields(call.Err.Error()), " ")
		b = fmt.Appendf(b, "# call %d failed (not replayed): %s\n", len(r.calls), msg)
	} else {
		b = append(b, line...)
	}
	if _, err := r.w.Write(b); err != nil {
		return fmt.Errorf("persona: recording: writing the script: %w", err)
	}
	r.header = true
	return nil
}

// Calls returns a copy of the record of every call so far, in the order
// they ended.
func (r *Recording) Calls() []RecordedCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]RecordedCall(nil), r.calls...)
}

// Replies returns the replies written so far, in order: the script as
// Go values, for [NewScripted].
func (r *Recording) Replies() []Reply {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Reply
	for _, c := range r.calls {
		if c.Err == nil {
			out = append(out, c.Reply)
		}
	}
	return out
}

// describe names what failed on the wire, for a recording's comment.
func (w wireFacts) describe() string {
	switch {
	case w.httpErr != nil:
		return w.httpErr.Error()
	case w.dropped != nil:
		return "connection lost: " + w.dropped.Error()
	case w.overflow:
		return "reply over the size cap"
	case w.stalled:
		return "stalled"
	}
	return w.malformed
}
