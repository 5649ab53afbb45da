package method

import (
	"sort"
	"strings"

	"batos"
)

// sort_copy returns the item names sorted; the slot is left alone.
func sort_copy(self batos.Self, args []any) (any, error) {
	items, _ := self.Get("items").([]any)
	names := make([]string, 0, len(items))
	for _, it := range items {
		s, _ := it.(string)
		names = append(names, strings.ToLower(s))
	}
	sort.Strings(names)
	return strings.Join(names, ", "), nil
}

// verdict: pass
// writes: false
// want: names := make([]string, 0, __meter.Alloc(len(items)))
