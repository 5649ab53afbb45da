package method

import "batos"

func goroutine(self batos.Self, args []any) (any, error) {
	go func() {
		for {
		}
	}()
	return nil, nil
}

// verdict: reject stmt.go
