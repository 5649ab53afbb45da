package method

import "batos"

func range_func(self batos.Self, args []any) (any, error) {
	seq := func(yield func(int) bool) {
		for i := 0; i < 3; i++ {
			if !yield(i) {
				return
			}
		}
	}
	total := 0
	for x := range seq {
		total += x
	}
	return total, nil
}

// verdict: reject yaegi.rangefunc
