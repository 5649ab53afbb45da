package method

import "batos"

func cov_slot_map(self batos.Self, args []any) (any, error) {
	m := self.Get("prefs").(map[string]any)
	m["theme"] = "dark"
	return nil, nil
}

// verdict: reject covenant.unmarked
