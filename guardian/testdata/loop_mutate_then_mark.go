package method

import (
	"strings"

	"batos"
)

// loop_mutate_then_mark upper-cases every value of the tags slot in place.
func loop_mutate_then_mark(self batos.Self, args []any) (any, error) {
	tags, _ := self.Get("tags").(map[string]any)
	for k, v := range tags {
		if s, ok := v.(string); ok {
			tags[k] = strings.ToUpper(s)
		}
	}
	self.MarkChanged()
	return len(tags), nil
}

// verdict: pass
// writes: true
