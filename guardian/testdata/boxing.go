package method

import "batos"

// boxing returns values the interpreter would lose without parentheses.
func boxing(self batos.Self, args []any) (any, error) {
	n := len(args)
	out := map[string]any{}
	out["neg"] = -n
	out["many"] = n > 2
	var last any
	last = !(n == 0)
	out["last"] = last
	if n == 0 {
		return -1, nil
	}
	return out, nil
}

// negate is a helper whose result is concrete: no parentheses needed.
func negate(n int) int {
	return -n
}

// verdict: pass
// rewrite: yaegi.boxing
// want: out["neg"] = (-n)
// want: out["many"] = (n > 2)
// want: last = (!(n == 0))
// want: return -1, nil
// want: return -n
