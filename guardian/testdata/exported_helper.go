package method

import "batos"

func Helper() int { return 1 }

func exported_helper(self batos.Self, args []any) (any, error) {
	return Helper(), nil
}

// verdict: reject decl.exported
