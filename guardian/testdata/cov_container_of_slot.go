package method

import "batos"

func cov_container_of_slot(self batos.Self, args []any) (any, error) {
	all := []any{self.Get("a"), self.Get("b")}
	first := all[0].(map[string]any)
	first["k"] = 1
	return nil, nil
}

// verdict: reject covenant.unmarked
