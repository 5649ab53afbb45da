package method

import "batos"

func cov_method_value(self batos.Self, args []any) (any, error) {
	set := self.Set
	set("x", 1)
	return nil, nil
}

// verdict: reject covenant.unmarked
