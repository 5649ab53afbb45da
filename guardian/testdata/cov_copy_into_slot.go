package method

import "batos"

func cov_copy_into_slot(self batos.Self, args []any) (any, error) {
	dst, _ := self.Get("buf").([]any)
	copy(dst, args)
	return nil, nil
}

// verdict: reject covenant.unmarked
