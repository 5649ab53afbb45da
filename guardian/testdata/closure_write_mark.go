package method

import "batos"

func closure_write_mark(self batos.Self, args []any) (any, error) {
	record := func(k string, v any) {
		self.Set(k, v)
		self.MarkChanged()
	}
	record("a", 1)
	record("b", 2)
	return nil, nil
}

// verdict: pass
// writes: true
