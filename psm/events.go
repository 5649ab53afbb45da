package psm

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// State is a state of the cognitive cycle.
type State string

// The states of the cycle, in the order a successful cycle walks them.
const (
	Idle         State = "IDLE"
	Decomposing  State = "DECOMPOSING"
	Delegating   State = "DELEGATING"
	Synthesizing State = "SYNTHESIZING"
	Validating   State = "VALIDATING"
	Complete     State = "COMPLETE"
	Failed       State = "FAILED"
)

// States lists every state in cycle order, FAILED last.
func States() []State {
	return []State{Idle, Decomposing, Delegating, Synthesizing, Validating, Complete, Failed}
}

// Event kinds.
const (
	EventState   = "state"   // the cycle entered a state
	EventPrompt  = "prompt"  // a prompt sent to a persona's model
	EventReply   = "reply"   // the model's reply
	EventVerdict = "verdict" // a guardian, compile or dry-run verdict
	EventNote    = "note"    // anything else worth recording (fallbacks, reuse)
	EventOutcome = "outcome" // the cycle's end: COMPLETE or FAILED
	EventRetry   = "retry"   // a model call's attempt failed and another follows
)

// Event is one step of a cycle, as recorded, logged and published.
type Event struct {
	Cycle   string    `json:"cycle"`
	Seq     int       `json:"seq"`
	Time    time.Time `json:"time"`
	State   State     `json:"state"`
	Kind    string    `json:"kind"`
	Persona string    `json:"persona,omitempty"`
	Attempt int       `json:"attempt,omitempty"`
	Text    string    `json:"text,omitempty"`
	Error   string    `json:"error,omitempty"`
	// ModelCallsAvoided is, on a COMPLETE outcome, the model calls the
	// cycle saved by reusing an installed method (Record.ModelCallsAvoided).
	ModelCallsAvoided int `json:"model_calls_avoided,omitempty"`
}

// bus fans events out to subscribers and the audit log.
type bus struct {
	mu     sync.Mutex
	subs   map[int]func(Event)
	next   int
	logger *slog.Logger
}

func newBus(logger *slog.Logger) *bus {
	return &bus{subs: map[int]func(Event){}, logger: logger}
}

func (b *bus) subscribe(fn func(Event)) func() {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := b.next
	b.next++
	b.subs[id] = fn
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.subs, id)
	}
}

func (b *bus) publish(ctx context.Context, e Event) {
	attrs := []slog.Attr{
		slog.String("cycle", e.Cycle), slog.Int("seq", e.Seq),
		slog.String("state", string(e.State)), slog.String("kind", e.Kind),
	}
	if e.Persona != "" {
		attrs = append(attrs, slog.String("persona", e.Persona))
	}
	if e.Attempt != 0 {
		attrs = append(attrs, slog.Int("attempt", e.Attempt))
	}
	if e.Text != "" {
		attrs = append(attrs, slog.String("text", e.Text))
	}
	if e.Error != "" {
		attrs = append(attrs, slog.String("error", e.Error))
	}
	level := slog.LevelInfo
	if e.Error != "" {
		level = slog.LevelWarn
	}
	b.logger.LogAttrs(context.WithoutCancel(ctx), level, "psm."+e.Kind, attrs...)
	b.mu.Lock()
	subs := make([]func(Event), 0, len(b.subs))
	for _, fn := range b.subs {
		subs = append(subs, fn)
	}
	b.mu.Unlock()
	for _, fn := range subs {
		b.deliver(ctx, fn, e)
	}
}

// deliver calls one subscriber; a panicking subscriber is logged, not
// allowed to take the cycle down.
func (b *bus) deliver(ctx context.Context, fn func(Event), e Event) {
	defer func() {
		if r := recover(); r != nil {
			b.logger.LogAttrs(context.WithoutCancel(ctx), slog.LevelError, "psm.subscriber_panic", slog.String("panic", fmt.Sprint(r)))
		}
	}()
	fn(e)
}
