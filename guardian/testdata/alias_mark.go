package method

import "batos"

func alias_mark(self batos.Self, args []any) (any, error) {
	s := self
	s.Set("greeting", "hi")
	s.MarkChanged()
	return nil, nil
}

// verdict: pass
// writes: true
