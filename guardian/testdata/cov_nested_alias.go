package method

import "batos"

func cov_nested_alias(self batos.Self, args []any) (any, error) {
	x := self.Get("m")
	y := x.(map[string]any)
	var z any = y
	w := z.(map[string]any)
	w["k"] = 1
	return nil, nil
}

// verdict: reject covenant.unmarked
