package method

import "batos"

func goto_loop(self batos.Self, args []any) (any, error) {
	i := 0
again:
	i++
	goto again
}

// verdict: reject stmt.goto
