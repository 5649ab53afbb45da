package method

import "batos"

func append_spread(self batos.Self, args []any) (any, error) {
	all := []any{}
	for i := 0; i < 3; i++ {
		all = append(all, args...)
	}
	return all, nil
}

// verdict: pass
// want: __meter.Alloc(len(all) + len(args))
