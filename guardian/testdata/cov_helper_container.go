package method

import "batos"

func cov_helper_container(self batos.Self, args []any) (any, error) {
	tags, _ := self.Get("tags").(map[string]any)
	tag(tags, "seen")
	return nil, nil
}

func tag(m map[string]any, k string) {
	m[k] = true
}

// verdict: reject covenant.unmarked
