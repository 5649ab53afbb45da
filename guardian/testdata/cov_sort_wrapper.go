package method

import (
	"sort"

	"batos"
)

// cov_sort_wrapper sorts a slot's slice through a wrapper type.
func cov_sort_wrapper(self batos.Self, args []any) (any, error) {
	names, _ := self.Get("names").([]string)
	sort.StringSlice(names).Sort()
	return names, nil
}

// verdict: reject covenant.unmarked
