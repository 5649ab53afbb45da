package method

import "batos"

func builtin_println(self batos.Self, args []any) (any, error) {
	println("debug")
	return nil, nil
}

// verdict: reject call.forbidden
