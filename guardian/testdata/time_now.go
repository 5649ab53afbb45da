package method

import (
	"time"

	"batos"
)

func time_now(self batos.Self, args []any) (any, error) {
	start := time.Now()
	born, _ := self.Get("born").(string)
	t, err := time.Parse(time.RFC3339, born)
	if err != nil {
		return nil, err
	}
	return start.Sub(t).Hours() + float64(time.Since(start)), nil
}

// verdict: pass
