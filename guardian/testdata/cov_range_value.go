package method

import "batos"

func cov_range_value(self batos.Self, args []any) (any, error) {
	for _, v := range self.Get("people").([]any) {
		p, _ := v.(map[string]any)
		p["seen"] = true
	}
	return nil, nil
}

// verdict: reject covenant.unmarked
