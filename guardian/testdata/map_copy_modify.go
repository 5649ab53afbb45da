package method

import "batos"

// map_copy_modify copies a slot's map and changes only the copy.
func map_copy_modify(self batos.Self, args []any) (any, error) {
	prefs, _ := self.Get("prefs").(map[string]any)
	out := map[string]any{}
	for k, v := range prefs {
		out[k] = v
	}
	out["theme"] = "dark"
	delete(out, "secret")
	return out, nil
}

// verdict: pass
// writes: false
