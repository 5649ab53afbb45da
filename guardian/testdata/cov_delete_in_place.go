package method

import "batos"

func cov_delete_in_place(self batos.Self, args []any) (any, error) {
	cache, _ := self.Get("cache").(map[string]any)
	for k := range cache {
		delete(cache, k)
	}
	return len(cache), nil
}

// verdict: reject covenant.unmarked
