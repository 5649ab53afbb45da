package method

import "batos"

func mutual_recursion(self batos.Self, args []any) (any, error) {
	n, _ := args[0].(int)
	return even(n), nil
}

func even(n int) bool {
	if n == 0 {
		return true
	}
	return odd(n - 1)
}

func odd(n int) bool {
	if n == 0 {
		return false
	}
	return even(n - 1)
}

// verdict: pass
// want: func even(__meter *batos.Meter, n int) bool {
// want: return odd(__meter, n-1)
