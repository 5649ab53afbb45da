package method

import (
	. "strings"

	"batos"
)

func import_dot(self batos.Self, args []any) (any, error) {
	return nil, nil
}

// verdict: reject import.dot
