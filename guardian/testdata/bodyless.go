package method

import "batos"

func helper(x int) int

func bodyless(self batos.Self, args []any) (any, error) {
	return helper(1), nil
}

// verdict: reject decl.body
