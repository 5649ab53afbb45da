package method

import "batos"

func interface_any(self batos.Self, args []any) (any, error) {
	var x interface{} = len(args)
	if n, ok := x.(int); ok && n > 1 {
		return "many", nil
	}
	return "few", nil
}

// verdict: pass
