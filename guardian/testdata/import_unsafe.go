package method

import (
	"unsafe"

	"batos"
)

func import_unsafe(self batos.Self, args []any) (any, error) {
	return nil, nil
}

// verdict: reject import.forbidden
