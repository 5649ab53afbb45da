package method

import "batos"

func mark_both_branches(self batos.Self, args []any) (any, error) {
	on, _ := self.Get("on").(bool)
	if on {
		self.Set("on", false)
		self.MarkChanged()
	} else {
		self.Set("on", true)
		self.MarkChanged()
	}
	return !on, nil
}

// verdict: pass
// writes: true
