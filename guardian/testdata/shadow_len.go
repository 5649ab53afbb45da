package method

import "batos"

// shadow_len hides the builtin len from the budget check of an append.
func shadow_len(self batos.Self, args []any) (any, error) {
	all := []any{}
	for i := 0; i < 40; i++ {
		all = append(all, all...)
	}
	return len(all), nil
}

func len(xs []any) int { return 0 }

// verdict: reject ident.shadow
