package method

import "batos"

func cov_switch_fallthrough(self batos.Self, args []any) (any, error) {
	switch len(args) {
	case 0:
		self.Set("empty", true)
		fallthrough
	case 1:
		return "few", nil
	}
	self.MarkChanged()
	return nil, nil
}

// verdict: reject covenant.unmarked
