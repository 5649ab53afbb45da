package method

import "batos"

func first[T any](xs []T) T {
	return xs[0]
}

func generic_func(self batos.Self, args []any) (any, error) {
	return first(args), nil
}

// verdict: reject yaegi.generic
