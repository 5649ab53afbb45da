package method

import (
	"sort"

	"batos"
)

// closure_sort ranks a copy of the scores.
func closure_sort(self batos.Self, args []any) (any, error) {
	scores, _ := self.Get("scores").(map[string]any)
	type entry struct {
		name  string
		score float64
	}
	var list []entry
	for name, v := range scores {
		f, _ := v.(float64)
		list = append(list, entry{name, f})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].score > list[j].score })
	var names []any
	for _, e := range list {
		names = append(names, e.name)
	}
	return names, nil
}

// verdict: pass
// writes: false
