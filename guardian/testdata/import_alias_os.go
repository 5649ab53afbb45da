package method

import (
	strs "os"

	"batos"
)

func import_alias_os(self batos.Self, args []any) (any, error) {
	return nil, nil
}

// verdict: reject import.forbidden
