package method

import "batos"

// parents_set adds a parent.
func parents_set(self batos.Self, args []any) (any, error) {
	defer self.MarkChanged()
	parents, _ := self.Get("parents").([]any)
	ref, ok := args[0].(batos.Ref)
	if !ok {
		return nil, nil
	}
	return nil, self.Set("parents", append([]any{ref}, parents...))
}

// verdict: pass
// writes: true
