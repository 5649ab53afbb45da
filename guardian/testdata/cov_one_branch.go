package method

import "batos"

func cov_one_branch(self batos.Self, args []any) (any, error) {
	on, _ := self.Get("on").(bool)
	if on {
		self.Set("on", false)
		self.MarkChanged()
	} else {
		self.Set("on", true)
	}
	return !on, nil
}

// verdict: reject covenant.unmarked
