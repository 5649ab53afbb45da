package method

import (
	"runtime/debug"

	"batos"
)

func import_runtime_debug(self batos.Self, args []any) (any, error) {
	return nil, nil
}

// verdict: reject import.forbidden
