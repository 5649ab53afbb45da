package method

import "batos"

func cov_error_branch_earlier_write(self batos.Self, args []any) (any, error) {
	self.Set("a", 1)
	if err := self.Set("b", 2); err != nil {
		return nil, err
	}
	self.MarkChanged()
	return nil, nil
}

// verdict: reject covenant.unmarked
