package method

import "batos"

func cov_literal_called(self batos.Self, args []any) (any, error) {
	func() {
		self.Delete("secret")
	}()
	return nil, nil
}

// verdict: reject covenant.unmarked
