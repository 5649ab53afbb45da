package method

import "batos"

func init() {}

func init_func(self batos.Self, args []any) (any, error) {
	return nil, nil
}

// verdict: reject decl.init
