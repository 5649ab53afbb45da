package method

import "batos"

func range_int(self batos.Self, args []any) (any, error) {
	n, _ := args[0].(int)
	total := 0
	for i := range n {
		total += i
	}
	for range 3 {
		total++
	}
	return total, nil
}

// verdict: pass
// rewrite: yaegi.rangeint
// want: for i := 0; i < n; i++ {
