package method

import "batos"

func min_max_int(self batos.Self, args []any) (any, error) {
	a, _ := args[0].(int)
	b, _ := args[1].(int)
	lo := min(a, b, 10)
	hi := max(a, b)
	return []any{lo, hi}, nil
}

// verdict: pass
// rewrite: yaegi.minmax
// want: lo := minInt(minInt(a, b), 10)
// want: func maxInt(a, b int) int {
