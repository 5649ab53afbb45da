package method

import "batos"

func early_return(self batos.Self, args []any) (any, error) {
	if !self.Has("visits") {
		return "never visited", nil
	}
	v, _ := self.Get("visits").(int64)
	if v > 100 {
		return "busy", nil
	}
	if err := self.Set("visits", v+1); err != nil {
		return nil, err
	}
	self.MarkChanged()
	return "ok", nil
}

// verdict: pass
// writes: true
