package method

import (
	"sort"

	"batos"
)

func copy_then_sort(self batos.Self, args []any) (any, error) {
	nums, _ := self.Get("nums").([]any)
	local := make([]any, len(nums))
	copy(local, nums)
	sort.Slice(local, func(i, j int) bool {
		a, _ := local[i].(int64)
		b, _ := local[j].(int64)
		return a < b
	})
	return local, nil
}

// verdict: pass
// writes: false
