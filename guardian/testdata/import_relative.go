package method

import (
	"./helpers"

	"batos"
)

func import_relative(self batos.Self, args []any) (any, error) {
	return nil, nil
}

// verdict: reject import.relative
