package method

import "batos"

func cov_slot_map_direct(self batos.Self, args []any) (any, error) {
	self.Get("prefs").(map[string]any)["theme"] = "dark"
	return nil, nil
}

// verdict: reject covenant.unmarked
