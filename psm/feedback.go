package psm

import "github.com/batos-dev/batos/uvm/live/batos"

// Error texts are bounded where they are kept or read: a failure can be
// as long as what failed (a 10 MB reply, a method's own error, a chain of
// sends hundreds deep). They are clipped in the middle, never at the end,
// so that the root cause, which comes last, survives.
const (
	// maxRecordedError bounds an error's text in a record's events and
	// in Record.Error.
	maxRecordedError = 8 << 10
	// maxFeedback bounds the error text a synthesis prompt feeds back.
	maxFeedback = 4000
)

// recordedError is an error's text as a record keeps it.
func recordedError(s string) string { return batos.Clip(s, maxRecordedError) }

// feedbackText is the text of a rejection as the model that wrote the
// method reads it: in the contract's names (batos.Self, never the host's
// packages, without their "live: " or "uvm: " prefixes) and bounded.
func feedbackText(err error) string { return batos.Clip(batos.Text(err.Error()), maxFeedback) }
