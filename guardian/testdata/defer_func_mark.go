package method

import "batos"

func defer_func_mark(self batos.Self, args []any) (any, error) {
	defer func() {
		self.MarkChanged()
	}()
	list, _ := self.Get("log").([]any)
	return nil, self.Set("log", append(list, args...))
}

// verdict: pass
// writes: true
