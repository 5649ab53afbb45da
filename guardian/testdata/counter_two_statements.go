package method

import "batos"

func counter_two_statements(self batos.Self, args []any) (any, error) {
	n, _ := self.Get("count").(int64)
	err := self.Set("count", n+1)
	if err != nil {
		return nil, err
	}
	self.MarkChanged()
	return n + 1, nil
}

// verdict: pass
// writes: true
