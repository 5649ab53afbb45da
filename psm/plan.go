package psm

import (
	"errors"

	"github.com/batos-dev/batos/persona"
)

// A plan only steers the memory search: a cycle can do without one
// (DECOMPOSING then derives queries from the selector and intent). So a
// reply that cannot be a plan, whatever the reason, does not end the
// cycle; only a model that cannot be reached, or the cycle's own end,
// does.

// unusablePlan reports whether a failed plan request got a reply that is
// merely unusable as a plan (too large, empty, cut short), and whether
// asking again could help: a reply over the size cap would likely be as
// large again.
func unusablePlan(err error) (unusable, askAgain bool) {
	switch {
	case errors.Is(err, persona.ErrTooLarge):
		return true, false
	case errors.Is(err, persona.ErrEmptyReply), errors.Is(err, persona.ErrTruncated):
		return true, true
	}
	return false, false
}
