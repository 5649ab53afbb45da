package method

import (
	"time"

	"batos"
)

func time_sleep(self batos.Self, args []any) (any, error) {
	time.Sleep(time.Hour)
	return nil, nil
}

// verdict: reject call.forbidden
