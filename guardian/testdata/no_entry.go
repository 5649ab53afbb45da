package method

import "batos"

func greet(self batos.Self, args []any) (any, error) {
	return "hi", nil
}

// verdict: reject entry.missing
