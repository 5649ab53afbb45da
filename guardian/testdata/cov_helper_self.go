package method

import "batos"

func cov_helper_self(self batos.Self, args []any) (any, error) {
	remember(self, args)
	return nil, nil
}

func remember(s batos.Self, v any) {
	s.Set("memory", v)
}

// verdict: reject covenant.unmarked
