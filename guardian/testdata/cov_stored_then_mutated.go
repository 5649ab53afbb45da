package method

import "batos"

func cov_stored_then_mutated(self batos.Self, args []any) (any, error) {
	m := map[string]any{}
	self.Set("m", m)
	self.MarkChanged()
	m["late"] = true
	return nil, nil
}

// verdict: reject covenant.unmarked
