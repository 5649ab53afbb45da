package method

import "batos"

func cov_loop_write(self batos.Self, args []any) (any, error) {
	for i, a := range args {
		if i > 2 {
			self.MarkChanged()
			break
		}
		self.Set("arg", a)
	}
	return nil, nil
}

// verdict: reject covenant.unmarked
