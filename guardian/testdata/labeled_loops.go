package method

import "batos"

func labeled_loops(self batos.Self, args []any) (any, error) {
	grid, _ := self.Get("grid").([]any)
	found := -1
outer:
	for i, row := range grid {
		cells, _ := row.([]any)
		for _, c := range cells {
			if c == nil {
				continue outer
			}
			if c == "x" {
				found = i
				break outer
			}
		}
	}
	if found >= 0 {
		defer self.MarkChanged()
		return nil, self.Set("found", int64(found))
	}
	return nil, nil
}

// verdict: pass
// writes: true
