package method

import (
	"sort"

	"batos"
)

// cov_sort_reverse sorts a slot's slice through sort.Reverse.
func cov_sort_reverse(self batos.Self, args []any) (any, error) {
	nums, _ := self.Get("nums").([]int)
	sort.Sort(sort.Reverse(sort.IntSlice(nums)))
	return nums, nil
}

// verdict: reject covenant.unmarked
