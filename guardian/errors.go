package guardian

import "errors"

var (
	// ErrRejected is returned (wrapped in a [*Rejection]) when the source
	// breaks at least one rule. Use errors.As to reach the findings.
	ErrRejected = errors.New("guardian: source rejected")

	// ErrSelector is returned when the selector given to [Audit] is not a
	// valid method name: it must be a Go identifier (letters, digits,
	// underscores, not starting with a digit), not a keyword, not "_",
	// "init" or "main", and not starting with the reserved prefix "__".
	// It is the caller's mistake, not the model's, so it is not a finding.
	ErrSelector = errors.New("guardian: invalid selector")

	// ErrInternal is returned when the guardian produced instrumented source
	// that does not parse. It is a bug in the guardian, never the model's
	// fault; the method must not be installed.
	ErrInternal = errors.New("guardian: internal error")
)
