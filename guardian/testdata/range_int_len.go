package method

import "batos"

func range_int_len(self batos.Self, args []any) (any, error) {
	out := make([]any, len(args))
	for i := range len(args) {
		out[i] = i * 2
	}
	return out, nil
}

// verdict: pass
// rewrite: yaegi.rangeint
