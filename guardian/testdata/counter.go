package method

import "batos"

// counter increments the count slot.
func counter(self batos.Self, args []any) (any, error) {
	n, _ := self.Get("count").(int64)
	if err := self.Set("count", n+1); err != nil {
		return nil, err
	}
	self.MarkChanged()
	return n + 1, nil
}

// verdict: pass
// writes: true
