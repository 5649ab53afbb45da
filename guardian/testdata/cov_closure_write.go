package method

import "batos"

func cov_closure_write(self batos.Self, args []any) (any, error) {
	set := func(k string, v any) {
		self.Set(k, v)
	}
	set("a", 1)
	return nil, nil
}

// verdict: reject covenant.unmarked
