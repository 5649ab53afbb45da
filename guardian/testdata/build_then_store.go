package method

import (
	"strings"

	"batos"
)

// build_then_store fills a fresh map, may return early, and only then
// stores it: filling the map before the Set is not a write.
func build_then_store(self batos.Self, args []any) (any, error) {
	text, _ := self.Get("text").(string)
	counts := map[string]any{}
	for _, w := range strings.Fields(text) {
		n, _ := counts[w].(int)
		counts[w] = n + 1
	}
	if len(counts) == 0 {
		return "nothing to count", nil
	}
	if err := self.Set("counts", counts); err != nil {
		return nil, err
	}
	self.MarkChanged()
	return len(counts), nil
}

// verdict: pass
// writes: true
