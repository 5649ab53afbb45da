package persona

import "time"

// ScriptedReplies returns a copy of s's script, for tests that check what
// a script parsed into.
func ScriptedReplies(s *Scripted) []Reply { return append([]Reply(nil), s.replies...) }

// Backoff returns the wait before retry n under l (defaults filled in),
// after a Retry-After of after (0 for none).
func Backoff(l Limits, n int, after time.Duration) time.Duration {
	return l.withDefaults().backoff(n, after)
}

// ParseRetryAfter reads a Retry-After header at now.
var ParseRetryAfter = parseRetryAfter
