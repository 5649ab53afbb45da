package method

import "batos"

type box struct {
	m map[string]any
}

func cov_struct_field(self batos.Self, args []any) (any, error) {
	b := box{m: self.Get("m").(map[string]any)}
	b.m["k"] = 1
	return nil, nil
}

// verdict: reject covenant.unmarked
