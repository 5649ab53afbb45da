package method

import "batos"

func range_int_typed(self batos.Self, args []any) (any, error) {
	var n int64 = 5
	var sum int64
	for i := range n {
		sum += i
	}
	return sum, nil
}

// verdict: pass
// rewrite: yaegi.rangeint
// want: for i := int64(0); i < n; i++ {
