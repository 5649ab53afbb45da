package method

import (
	"syscall"

	"batos"
)

func import_syscall(self batos.Self, args []any) (any, error) {
	return nil, nil
}

// verdict: reject import.forbidden
