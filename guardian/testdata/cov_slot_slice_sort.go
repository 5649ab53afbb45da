package method

import (
	"sort"

	"batos"
)

func cov_slot_slice_sort(self batos.Self, args []any) (any, error) {
	items, _ := self.Get("items").([]any)
	sort.Slice(items, func(i, j int) bool {
		a, _ := items[i].(string)
		b, _ := items[j].(string)
		return a < b
	})
	return items, nil
}

// verdict: reject covenant.unmarked
