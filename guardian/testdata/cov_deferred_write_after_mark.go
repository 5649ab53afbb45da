package method

import "batos"

func cov_deferred_write_after_mark(self batos.Self, args []any) (any, error) {
	defer self.Set("last", args)
	defer self.MarkChanged()
	return nil, nil
}

// verdict: reject covenant.unmarked
