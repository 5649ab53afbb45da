package method

import "batos"

func cov_helper_literal_value(self batos.Self, args []any) (any, error) {
	apply(func() { self.Set("x", 2) })
	return nil, nil
}

func apply(f func()) {
	f()
}

// verdict: reject covenant.unmarked
