package adapter

import (
	"errors"
	"fmt"
)

// Sentinel errors. Each is returned (sometimes inside a richer typed error
// that errors.Is matches) when the condition in its comment holds.
var (
	// ErrNotFound is returned when an adapter name is not in the image's
	// adapter records.
	ErrNotFound = errors.New("adapter: not found")
	// ErrBadRecord is returned when a persona prototype's adapters slot
	// ([Slot]), or an adapter record in it, holds a value of the wrong kind.
	ErrBadRecord = errors.New("adapter: malformed adapter record")
	// ErrOverBudget is returned when one adapter is larger than the
	// residency manager's hot budget and can never be loaded.
	ErrOverBudget = errors.New("adapter: larger than the hot budget")
	// ErrEngine is returned when a serving engine refused to load or unload
	// an adapter. The error is an *EngineError.
	ErrEngine = errors.New("adapter: serving engine refused")
	// ErrClosed is returned when a closed residency manager is used.
	ErrClosed = errors.New("adapter: residency manager is closed")
)

// EngineError reports a serving engine that refused to load or unload an
// adapter. Err is usually a *persona.HTTPError.
type EngineError struct {
	Engine  string // "vllm", "ollama", …
	Op      string // "load" or "unload"
	Adapter string // the adapter's name
	Err     error  // the cause, usually a *persona.HTTPError
}

// Error describes the failure in one line.
func (e *EngineError) Error() string {
	return fmt.Sprintf("adapter: %s engine: %s adapter %q: %v", e.Engine, e.Op, e.Adapter, e.Err)
}

// Unwrap returns ErrEngine and the cause.
func (e *EngineError) Unwrap() []error { return []error{ErrEngine, e.Err} }
