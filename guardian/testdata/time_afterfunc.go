package method

import (
	"time"

	"batos"
)

func time_afterfunc(self batos.Self, args []any) (any, error) {
	time.AfterFunc(time.Second, func() { panic("late") })
	return nil, nil
}

// verdict: reject call.forbidden
