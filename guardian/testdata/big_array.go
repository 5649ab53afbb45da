package method

import "batos"

func big_array(self batos.Self, args []any) (any, error) {
	var a [1 << 34]byte
	return len(a), nil
}

// verdict: reject alloc.array
