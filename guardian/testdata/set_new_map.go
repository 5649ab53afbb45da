package method

import "batos"

func set_new_map(self batos.Self, args []any) (any, error) {
	defer self.MarkChanged()
	m := map[string]any{"created": true}
	for i, a := range args {
		m[string(rune('a'+i))] = a
	}
	return nil, self.Set("info", m)
}

// verdict: pass
// writes: true
