package method

import "batos"

func too_big(self batos.Self, args []any) (any, error) {
	return "this source is longer than the limit the options set", nil
}

// max-source: 100
// verdict: reject source.size
