package method

import "batos"

func cov_fake_mark(self batos.Self, args []any) (any, error) {
	fake := struct{ MarkChanged func() }{func() {}}
	self.Set("x", 1)
	fake.MarkChanged()
	return nil, nil
}

// verdict: reject covenant.unmarked
