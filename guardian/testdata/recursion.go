package method

import "batos"

func recursion(self batos.Self, args []any) (any, error) {
	n, _ := args[0].(int)
	return fib(n), nil
}

func fib(n int) int {
	if n < 2 {
		return n
	}
	return fib(n-1) + fib(n-2)
}

// verdict: pass
// want: func fib(__meter *batos.Meter, n int) int {
// want: __meter.Enter()
// want: return fib(__meter, n-1) + fib(__meter, n-2)
