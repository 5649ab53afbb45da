package method

import "batos"

func cov_alias_write(self batos.Self, args []any) (any, error) {
	s := self
	s.Set("x", 1)
	return nil, nil
}

// verdict: reject covenant.unmarked
