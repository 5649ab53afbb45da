package method

import (
	"runtime"

	"batos"
)

func import_runtime(self batos.Self, args []any) (any, error) {
	return nil, nil
}

// verdict: reject import.forbidden
