package method

import "batos"

func variadic_helper(self batos.Self, args []any) (any, error) {
	return sum(1, 2, 3) + sum(), nil
}

func sum(xs ...int) int {
	t := 0
	for _, x := range xs {
		t += x
	}
	return t
}

// verdict: pass
// want: return sum(__meter, 1, 2, 3) + sum(__meter), nil
