package persona

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tmc/langchaingo/llms"
)

// Reply is one answer of a [Scripted] model. In a JSONL script it is one
// line, for example
//
//	{"persona": "BRICK", "expect": "search queries", "text": "[\"greeting\"]"}
//	{"expect": "greet_the_architect", "text": "```go\npackage m\n…```", "delay": "20ms"}
//	{"hang": true}
//
// Unknown fields are refused, so a misspelt field fails loudly.
type Reply struct {
	// Persona, when set, is the persona this reply is for; a call made for
	// another persona is a *DriftError. Calls whose context names no
	// persona (see WithPersona) are not checked.
	Persona string
	// Expect, when set, must occur in the prompt (every text part of every
	// message, joined by newlines), or the call is a *DriftError.
	Expect string
	// Prompt, when set, must be the whole prompt, byte for byte, or the
	// call is a *DriftError saying where they differ. A [Recording]
	// writes it.
	Prompt string
	// Text is the reply.
	Text string
	// StopReason is reported as the choice's stop reason ("stop" when
	// empty); "length" makes a guarded call fail with ErrTruncated.
	StopReason string
	// Delay holds the reply back this long (or until the call's context
	// ends). In JSON: "delay": "250ms".
	Delay time.Duration
	// Hang holds the reply back until the call's context ends: a model
	// that never answers.
	Hang bool
	// Fail, when set, makes the call fail with this message (errors.Is
	// ErrScriptedFailure) instead of replying.
	Fail string
}

type replyJSON struct {
	Persona    string `json:"persona,omitempty"`
	Expect     string `json:"expect,omitempty"`
	Prompt     string `json:"prompt,omitempty"`
	Text       string `json:"text,omitempty"`
	StopReason string `json:"stop_reason,omitempty"`
	Delay      string `json:"delay,omitempty"`
	Hang       bool   `json:"hang,omitempty"`
	Fail       string `json:"fail,omitempty"`
}

// MarshalJSON writes the reply as one script line (Delay as a duration
// string).
func (r Reply) MarshalJSON() ([]byte, error) {
	j := replyJSON{Persona: r.Persona, Expect: r.Expect, Prompt: r.Prompt, Text: r.Text, StopReason: r.StopReason, Hang: r.Hang, Fail: r.Fail}
	if r.Delay > 0 {
		j.Delay = r.Delay.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads one script line, refusing unknown fields.
func (r *Reply) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var j replyJSON
	if err := dec.Decode(&j); err != nil {
		return err
	}
	*r = Reply{Persona: j.Persona, Expect: j.Expect, Prompt: j.Prompt, Text: j.Text, StopReason: j.StopReason, Hang: j.Hang, Fail: j.Fail}
	if j.Delay != "" {
		d, err := time.ParseDuration(j.Delay)
		if err != nil || d < 0 {
			return fmt.Errorf("delay %q: want a duration such as 250ms", j.Delay)
		}
		r.Delay = d
	}
	return nil
}

// ScriptedCall records one call a [Scripted] model answered (or refused).
type ScriptedCall struct {
	Reply   int    // the reply's number, from 1; 0 when the script was exhausted
	Persona string // the persona of the call, "" when unknown
	Prompt  string // the full prompt text
	Err     error  // drift or exhaustion, if the call was refused
}

// Scripted is a deterministic llms.Model that answers from a script of
// replies, in order: the first call gets the first reply, and so on. A
// call that does not match its reply (persona or expected substring) fails
// with a *DriftError naming the reply, and does not consume it; a call
// after the last reply fails with an *ExhaustedError. It is safe for
// concurrent use (concurrent calls take replies in the order they arrive).
type Scripted struct {
	source  string
	replies []Reply
	lines   []int // script line of each reply; nil when built from Go values

	mu    sync.Mutex
	next  int
	calls []ScriptedCall
}

var _ llms.Model = (*Scripted)(nil)

// NewScripted returns a model that gives these replies in order. The
// slice is copied.
func NewScripted(replies []Reply) *Scripted {
	return &Scripted{source: "script", replies: append([]Reply(nil), replies...)}
}

// ParseScript reads a JSONL script: one [Reply] per line; blank lines and
// lines starting with # or // are skipped. name (a file name, say) is used
// in errors. A bad line is a *ScriptError naming it; a script without
// replies is an error. A script in a file or an embed.FS is read with
// os.ReadFile or fs.ReadFile first, or named by a "scripted:FILE" spec
// (see Options.ScriptFS).
func ParseScript(name string, data []byte) (*Scripted, error) {
	s := &Scripted{source: name}
	for i, line := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "#") || strings.HasPrefix(t, "//") {
			continue
		}
		var r Reply
		if err := json.Unmarshal([]byte(t), &r); err != nil {
			return nil, &ScriptError{Source: name, Line: i + 1, Reason: err.Error()}
		}
		if r.Text == "" && !r.Hang && r.Fail == "" && r.StopReason == "" {
			return nil, &ScriptError{Source: name, Line: i + 1, Reason: `no "text" (write "text": "" with a "stop_reason" to script an empty reply)`}
		}
		s.replies = append(s.replies, r)
		s.lines = append(s.lines, i+1)
	}
	if len(s.replies) == 0 {
		return nil, &ScriptError{Source: name, Reason: "no replies"}
	}
	return s, nil
}

// Call implements llms.Model.
func (s *Scripted) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, s, prompt, options...)
}

// PromptText joins every text part of every message with newlines: the
// text a [Reply]'s Expect is looked for in.
func PromptText(msgs []llms.MessageContent) string {
	var b strings.Builder
	for _, m := range msgs {
		for _, p := range m.Parts {
			if t, ok := p.(llms.TextContent); ok {
				if b.Len() > 0 {
					b.WriteByte('\n')
				}
				b.WriteString(t.Text)
			}
		}
	}
	return b.String()
}

// take claims the next reply for a call, or explains why it cannot.
func (s *Scripted) take(persona, prompt string) (Reply, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	call := ScriptedCall{Persona: persona, Prompt: prompt}
	if s.next >= len(s.replies) {
		call.Err = &ExhaustedError{Source: s.source, Replies: len(s.replies), Prompt: excerpt(prompt, 200)}
		s.calls = append(s.calls, call)
		return Reply{}, 0, call.Err
	}
	r, n := s.replies[s.next], s.next+1
	call.Reply = n
	line := 0
	if s.lines != nil {
		line = s.lines[s.next]
	}
	drift := func() error {
		return &DriftError{Source: s.source, Reply: n, Line: line, WantPersona: r.Persona, GotPersona: persona,
			Expect: r.Expect, Prompt: excerpt(prompt, 200)}
	}
	switch {
	case r.Persona != "" && persona != "" && !strings.EqualFold(r.Persona, persona):
		call.Err = drift()
	case r.Expect != "" && !strings.Contains(prompt, r.Expect):
		call.Err = drift()
	case r.Prompt != "" && prompt != r.Prompt:
		d := drift().(*DriftError)
		d.Expect = ""
		d.Offset, d.Want, d.Got = promptDiff(r.Prompt, prompt)
		call.Err = d
	default:
		s.next++
	}
	s.calls = append(s.calls, call)
	return r, n, call.Err
}

// promptDiff returns where two prompts first differ, and an excerpt of
// each from a little before there.
func promptDiff(want, got string) (offset int, w, g string) {
	for offset < len(want) && offset < len(got) && want[offset] == got[offset] {
		offset++
	}
	from := max(offset-40, 0)
	for from > 0 && !isRuneStart(want[from]) {
		from--
	}
	return offset, excerpt(want[from:], 160), excerpt(got[from:], 160)
}

// GenerateContent implements llms.Model.
func (s *Scripted) GenerateContent(ctx context.Context, msgs []llms.MessageContent, options ...llms.CallOption) (*llms.ContentResponse, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, n, err := s.take(PersonaFrom(ctx), PromptText(msgs))
	if err != nil {
		return nil, err
	}
	switch {
	case r.Hang:
		<-ctx.Done()
		return nil, fmt.Errorf("persona: scripted reply %d hangs until the call ends: %w", n, ctx.Err())
	case r.Delay > 0:
		t := time.NewTimer(r.Delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("persona: scripted reply %d delayed %s: %w", n, r.Delay, ctx.Err())
		}
	}
	if r.Fail != "" {
		return nil, fmt.Errorf("%w: reply %d: %s", ErrScriptedFailure, n, r.Fail)
	}
	var co llms.CallOptions
	for _, o := range options {
		o(&co)
	}
	if co.StreamingFunc != nil {
		for _, chunk := range chunks(r.Text, 3) {
			if err := co.StreamingFunc(ctx, []byte(chunk)); err != nil {
				return nil, fmt.Errorf("persona: scripted reply %d: streaming: %w", n, err)
			}
		}
	}
	stop := r.StopReason
	if stop == "" {
		stop = "stop"
	}
	return &llms.ContentResponse{Choices: []*llms.ContentChoice{{
		Content:        r.Text,
		StopReason:     stop,
		GenerationInfo: map[string]any{"ScriptedReply": n},
	}}}, nil
}

// chunks splits s into at most n pieces on rune boundaries.
func chunks(s string, n int) []string {
	if s == "" {
		return nil
	}
	size := (len(s) + n - 1) / n
	var out []string
	for len(s) > 0 {
		cut := min(size, len(s))
		for cut < len(s) && !isRuneStart(s[cut]) {
			cut++
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	return out
}

// Remaining reports how many replies have not been given yet.
func (s *Scripted) Remaining() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.replies) - s.next
}

// Calls returns a copy of the record of every call so far, in order.
func (s *Scripted) Calls() []ScriptedCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ScriptedCall(nil), s.calls...)
}

// Verify reports an error when replies are left unused, so a test can
// assert that the conversation went all the way through its script.
func (s *Scripted) Verify() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next < len(s.replies) {
		return &ScriptError{Source: s.source, Reason: fmt.Sprintf("%d of %d replies unused; the next is reply %d (expects %q)",
			len(s.replies)-s.next, len(s.replies), s.next+1, s.replies[s.next].Expect)}
	}
	return nil
}
