package method

import "batos"

func min_unknown(self batos.Self, args []any) (any, error) {
	return min(args[0].(int64), args[1].(float64)), nil
}

// verdict: reject yaegi.minmax
