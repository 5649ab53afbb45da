package method

import "batos"

func clear_map(self batos.Self, args []any) (any, error) {
	seen := map[string]bool{"a": true}
	clear(seen)
	nums := []int{1, 2, 3}
	clear(nums)
	return len(seen) + nums[0], nil
}

// verdict: pass
// rewrite: yaegi.clear
// want: delete(seen, k)
// want: nums[i] = 0
