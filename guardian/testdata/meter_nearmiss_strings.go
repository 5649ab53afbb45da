package method

import (
	"strings"

	"batos"
)

// meter_nearmiss_strings only mentions batos.Enter and batos.Meter in
// text: in strings, slot names, selectors it sends, and this comment.
func meter_nearmiss_strings(self batos.Self, args []any) (any, error) {
	doc := "batos.Enter(self) returns a *batos.Meter; m.Fuel, m.Refuel()"
	if v, _ := self.Get("Meter").(string); v != "" {
		doc += v
	}
	r, err := self.Send("Enter", `batos.Meter`)
	if err != nil {
		return nil, err
	}
	return []any{strings.Count(doc, "batos."), r}, nil
}

// verdict: pass
// writes: false
