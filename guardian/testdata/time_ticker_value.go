package method

import (
	"time"

	"batos"
)

func time_ticker_value(self batos.Self, args []any) (any, error) {
	tick := time.NewTicker
	_ = tick
	return nil, nil
}

// verdict: reject call.forbidden
