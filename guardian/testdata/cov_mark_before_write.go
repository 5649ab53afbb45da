package method

import "batos"

func cov_mark_before_write(self batos.Self, args []any) (any, error) {
	self.MarkChanged()
	self.Set("x", 1)
	return nil, nil
}

// verdict: reject covenant.unmarked
