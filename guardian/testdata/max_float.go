package method

import "batos"

func max_float(self batos.Self, args []any) (any, error) {
	x, _ := self.Get("x").(float64)
	y, _ := self.Get("y").(float64)
	return max(x, y, 0.5), nil
}

// verdict: pass
// rewrite: yaegi.minmax
// want: return math.Max(math.Max(x, y), 0.5), nil
