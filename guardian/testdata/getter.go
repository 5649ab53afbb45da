package method

import "batos"

// getter answers the name slot.
func getter(self batos.Self, args []any) (any, error) {
	name, _ := self.Get("name").(string)
	return name, nil
}

// verdict: pass
// writes: false
// want: __meter := batos.Enter(self)
// want: defer __meter.Leave()
