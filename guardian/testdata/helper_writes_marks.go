package method

import "batos"

func helper_writes_marks(self batos.Self, args []any) (any, error) {
	save(self, "last", args)
	return nil, nil
}

func save(s batos.Self, slot string, v any) {
	s.Set(slot, v)
	s.MarkChanged()
}

// verdict: pass
// writes: true
