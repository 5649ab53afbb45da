package method

import "batos"

func setter_defer(self batos.Self, args []any) (any, error) {
	defer self.MarkChanged()
	if len(args) == 0 {
		return nil, nil
	}
	return nil, self.Set("name", args[0])
}

// verdict: pass
// writes: true
