package method

import "batos"

// cov_mutate_after_send hands a map to another method, which may keep it
// in a slot, then changes it.
func cov_mutate_after_send(self batos.Self, args []any) (any, error) {
	m := map[string]any{}
	if _, err := self.Send("remember", m); err != nil {
		return nil, err
	}
	m["late"] = true
	return nil, nil
}

// verdict: reject covenant.unmarked
