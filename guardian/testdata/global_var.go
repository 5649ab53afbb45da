package method

import "batos"

var calls int

func global_var(self batos.Self, args []any) (any, error) {
	calls++
	return calls, nil
}

// verdict: reject decl.var
