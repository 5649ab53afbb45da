package method

import "batos"

func two_entries(self batos.Self, args []any) (any, error) {
	return 1, nil
}

func two_entries(self batos.Self, args []any) (any, error) {
	return 2, nil
}

// verdict: reject entry.duplicate
