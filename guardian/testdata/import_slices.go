package method

import (
	"slices"

	"batos"
)

func import_slices(self batos.Self, args []any) (any, error) {
	return nil, nil
}

// verdict: reject import.forbidden
