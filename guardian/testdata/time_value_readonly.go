package method

import (
	"time"

	"batos"
)

// time_value_readonly reads a time from its argument: methods of value
// types are no writes.
func time_value_readonly(self batos.Self, args []any) (any, error) {
	t, ok := args[0].(time.Time)
	if !ok {
		t = time.Now()
	}
	stamp, _ := self.Get("stamp").(time.Time)
	return t.Format(time.RFC3339) + stamp.Add(time.Hour).String(), nil
}

// verdict: pass
// writes: false
