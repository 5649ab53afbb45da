package method

import "batos"

func cov_pointer_elem(self batos.Self, args []any) (any, error) {
	list, _ := self.Get("list").([]any)
	p := &list[0]
	*p = "changed"
	return nil, nil
}

// verdict: reject covenant.unmarked
