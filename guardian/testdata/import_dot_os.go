package method

import (
	. "os"

	"batos"
)

func import_dot_os(self batos.Self, args []any) (any, error) {
	return nil, nil
}

// verdict: reject import.forbidden
