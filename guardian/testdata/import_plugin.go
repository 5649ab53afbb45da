package method

import (
	"plugin"

	"batos"
)

func import_plugin(self batos.Self, args []any) (any, error) {
	return nil, nil
}

// verdict: reject import.forbidden
