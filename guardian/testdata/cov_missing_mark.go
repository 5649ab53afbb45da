package method

import "batos"

func cov_missing_mark(self batos.Self, args []any) (any, error) {
	self.Set("name", args[0])
	return nil, nil
}

// verdict: reject covenant.unmarked
