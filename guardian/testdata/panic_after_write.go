package method

import "batos"

// panic_after_write fails loudly; the runtime discards the call's changes.
func panic_after_write(self batos.Self, args []any) (any, error) {
	self.Set("state", "half")
	panic("cannot finish")
}

// verdict: pass
// writes: true
