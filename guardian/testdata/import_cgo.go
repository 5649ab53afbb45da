package method

import (
	"C"

	"batos"
)

func import_cgo(self batos.Self, args []any) (any, error) {
	return nil, nil
}

// verdict: reject import.forbidden
