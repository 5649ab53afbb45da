package persona

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors. Each is returned (usually inside a richer typed error
// that errors.Is matches) when the condition in its comment holds.
var (
	// ErrUnknownPersona is returned when a persona name has no prototype in
	// the image (see [Incarnate]).
	ErrUnknownPersona = errors.New("persona: unknown persona")
	// ErrBadCodex is returned when a persona prototype's codex slots hold
	// values of the wrong kind, or a codex to write is invalid.
	ErrBadCodex = errors.New("persona: malformed codex")
	// ErrBadSpec is returned when a model spec string cannot be parsed or
	// names an unknown provider. The error is a *SpecError.
	ErrBadSpec = errors.New("persona: invalid model spec")
	// ErrMissingKey is returned when a model needs an API key that the
	// options do not hold.
	ErrMissingKey = errors.New("persona: missing API key")

	// ErrTimeout is returned when a model call did not answer before its
	// deadline. The *ModelError also matches context.DeadlineExceeded.
	ErrTimeout = errors.New("persona: model call deadline exceeded")
	// ErrStalled is returned when a model server sent no byte for the
	// stall timeout (Limits.StallTimeout), before its response or in the
	// middle of a stream: a server that stopped, told apart from a model
	// that is slow but steady.
	ErrStalled = errors.New("persona: model server stalled")
	// ErrHTTPStatus is returned when a model server or serving engine
	// answered with an HTTP status of 400 or more. See *HTTPError.
	ErrHTTPStatus = errors.New("persona: model server answered an HTTP error")
	// ErrTooLarge is returned when a model reply exceeds the reply size cap
	// (Limits.MaxReplyBytes) or the wire cap (Limits.MaxWireBytes).
	ErrTooLarge = errors.New("persona: model reply too large")
	// ErrEmptyReply is returned when a model answered nothing but
	// whitespace, no choice at all, or a stream that ended without its
	// final message.
	ErrEmptyReply = errors.New("persona: model reply is empty")
	// ErrTruncated is returned when a reply was cut short: the model
	// stopped at its token limit, or a code fence or JSON value is left open.
	ErrTruncated = errors.New("persona: model reply is truncated")
	// ErrModelFailed is returned when a model call failed for any other
	// reason (connection refused, cancelled context, malformed wire data).
	ErrModelFailed = errors.New("persona: model call failed")

	// ErrNoCode is returned by [ExtractCode] when a reply holds no Go source.
	ErrNoCode = errors.New("persona: no Go code in reply")
	// ErrNoJSON is returned by [ExtractJSON] and [ParsePlan] when a reply
	// holds no JSON value.
	ErrNoJSON = errors.New("persona: no JSON value in reply")
	// ErrEmptyPlan is returned by [ParsePlan] when the plan holds no
	// usable query.
	ErrEmptyPlan = errors.New("persona: plan holds no queries")

	// ErrDrift is returned by a [Scripted] model when a call does not match
	// the next reply's persona or expected prompt substring. The error is a
	// *DriftError.
	ErrDrift = errors.New("persona: scripted conversation drifted")
	// ErrExhausted is returned by a [Scripted] model called after its last
	// reply. The error is an *ExhaustedError.
	ErrExhausted = errors.New("persona: scripted replies exhausted")
	// ErrScript is returned when a script of replies cannot be read: a bad
	// JSON line, an unknown field, an empty script. The error is a
	// *ScriptError naming the line.
	ErrScript = errors.New("persona: invalid script")
	// ErrScriptedFailure is returned by a [Scripted] model for a reply whose
	// Fail field is set: a model failure on purpose, for tests.
	ErrScriptedFailure = errors.New("persona: scripted model failure")
)

// maxExcerpt bounds the text kept in errors for the record.
const maxExcerpt = 4 << 10

func excerpt(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("… (%d bytes more)", len(s)-cut)
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// ModelError reports a model call that did not yield a usable reply. Kind
// is one of ErrTimeout, ErrStalled, ErrHTTPStatus, ErrTooLarge,
// ErrEmptyReply, ErrTruncated or ErrModelFailed; errors.Is matches Kind
// and anything Err wraps (context.DeadlineExceeded, an *HTTPError, …).
// When the call was retried, Kind, Detail and Err are the last attempt's
// and Attempts counts them all.
type ModelError struct {
	Persona  string // the persona the call was made for
	Model    string // a description of the model (its spec), secrets redacted
	Kind     error  // the sentinel naming the failure
	Detail   string // what exactly was wrong, for people
	Reply    string // the reply or its beginning (at most 4 KiB), for the record
	Err      error  // the underlying cause, if any
	Attempts int    // how many attempts the call made: 1 when not retried, 0 when its context had ended before the first
}

// Error describes the failure in one line.
func (e *ModelError) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.Error())
	switch {
	case e.Attempts > 1:
		fmt.Fprintf(&b, " (persona %s, model %s, %d attempts)", orDash(e.Persona), orDash(e.Model), e.Attempts)
	case e.Persona != "" || e.Model != "":
		fmt.Fprintf(&b, " (persona %s, model %s)", orDash(e.Persona), orDash(e.Model))
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns Kind and the cause, so errors.Is and errors.As see both.
func (e *ModelError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// HTTPError reports an HTTP status of 400 or more from a model server or a
// serving engine. Body holds the beginning of the response body.
type HTTPError struct {
	StatusCode int           // 400 or more
	Method     string        // the request's method
	URL        string        // the request's URL, without credentials
	Body       string        // the beginning of the response body, at most 4 KiB
	RetryAfter time.Duration // the response's Retry-After, 0 when it has none
}

// Error describes the failure in one line.
func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("persona: %s %s: HTTP %d", e.Method, e.URL, e.StatusCode)
	if b := strings.TrimSpace(e.Body); b != "" {
		msg += ": " + b
	}
	return msg
}

// Is reports whether target is ErrHTTPStatus.
func (e *HTTPError) Is(target error) bool { return target == ErrHTTPStatus }

// SpecError reports a model spec that cannot be used.
type SpecError struct {
	Spec   string // the spec, credentials redacted
	Reason string // what is wrong with it
}

// Error describes the failure in one line.
func (e *SpecError) Error() string {
	return fmt.Sprintf("persona: invalid model spec %q: %s", e.Spec, e.Reason)
}

// Is reports whether target is ErrBadSpec.
func (e *SpecError) Is(target error) bool { return target == ErrBadSpec }

// DriftError reports a call to a [Scripted] model that does not match the
// reply it was about to give: the conversation went somewhere the script
// did not foresee.
type DriftError struct {
	Source      string // the script's name ("" for one built from Go values)
	Reply       int    // the reply's number, from 1
	Line        int    // its line in the script file, 0 if built from Go values
	WantPersona string // the persona the reply is for ("" when any)
	GotPersona  string // the persona of the call ("" when unknown)
	Expect      string // the substring the prompt had to contain
	Prompt      string // the beginning of the prompt received
	// For a reply with a whole Prompt to match: the byte where the
	// prompts first differ, and each from a little before it.
	Offset    int
	Want, Got string
}

// Error describes the failure in one line.
func (e *DriftError) Error() string {
	where := fmt.Sprintf("reply %d", e.Reply)
	if e.Line > 0 {
		where += fmt.Sprintf(" (%s line %d)", orDash(e.Source), e.Line)
	}
	if e.WantPersona != "" && !strings.EqualFold(e.WantPersona, e.GotPersona) {
		return fmt.Sprintf("persona: scripted conversation drifted at %s: reply is for persona %s, but %s asked",
			where, e.WantPersona, orDash(e.GotPersona))
	}
	if e.Want != "" || e.Got != "" {
		return fmt.Sprintf("persona: scripted conversation drifted at %s: the prompt differs from the scripted one at byte %d: want …%q, got …%q",
			where, e.Offset, e.Want, e.Got)
	}
	return fmt.Sprintf("persona: scripted conversation drifted at %s: prompt does not contain %q; prompt begins %q",
		where, e.Expect, e.Prompt)
}

// Is reports whether target is ErrDrift.
func (e *DriftError) Is(target error) bool { return target == ErrDrift }

// ExhaustedError reports a call to a [Scripted] model that has given all
// its replies.
type ExhaustedError struct {
	Source  string // the script's name
	Replies int    // how many replies the script held
	Prompt  string // the beginning of the prompt nobody answered
}

// Error describes the failure in one line.
func (e *ExhaustedError) Error() string {
	return fmt.Sprintf("persona: scripted replies exhausted: all %d replies of %s given; unanswered prompt begins %q",
		e.Replies, orDash(e.Source), e.Prompt)
}

// Is reports whether target is ErrExhausted.
func (e *ExhaustedError) Is(target error) bool { return target == ErrExhausted }

// ScriptError reports a script of replies that cannot be read.
type ScriptError struct {
	Source string // the script's name or path
	Line   int    // from 1; 0 when the problem is not on one line
	Reason string // what is wrong
}

// Error describes the failure in one line.
func (e *ScriptError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("persona: invalid script %s line %d: %s", orDash(e.Source), e.Line, e.Reason)
	}
	return fmt.Sprintf("persona: invalid script %s: %s", orDash(e.Source), e.Reason)
}

// Is reports whether target is ErrScript.
func (e *ScriptError) Is(target error) bool { return target == ErrScript }
