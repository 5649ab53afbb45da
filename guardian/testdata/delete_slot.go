package method

import "batos"

func delete_slot(self batos.Self, args []any) (any, error) {
	if !self.Has("cache") {
		return false, nil
	}
	if err := self.Delete("cache"); err != nil {
		return nil, err
	}
	self.MarkChanged()
	return true, nil
}

// verdict: pass
// writes: true
