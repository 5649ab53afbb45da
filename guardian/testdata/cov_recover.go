package method

import "batos"

func cov_recover(self batos.Self, args []any) (res any, err error) {
	defer func() {
		if recover() != nil {
			res = "recovered"
		}
	}()
	self.Set("x", 1)
	var m map[string]int
	m["boom"] = 1
	self.MarkChanged()
	return nil, nil
}

// verdict: reject covenant.unmarked
