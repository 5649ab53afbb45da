package method

import "batos"

func loopvar_assigned(self batos.Self, args []any) (any, error) {
	var fns []func() int
	for i := 0; i < 10; i++ {
		fns = append(fns, func() int { return i })
		i++
	}
	return len(fns), nil
}

// verdict: reject yaegi.loopvar
