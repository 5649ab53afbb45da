package method

import "batos"

type stack[T any] struct {
	items []T
}

func generic_type(self batos.Self, args []any) (any, error) {
	s := stack[any]{items: args}
	return len(s.items), nil
}

// verdict: reject yaegi.generic
