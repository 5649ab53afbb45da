package method

import "batos"

func clear_unknown(self batos.Self, args []any) (any, error) {
	m := args[0]
	clear(m)
	return nil, nil
}

// verdict: reject yaegi.clear
