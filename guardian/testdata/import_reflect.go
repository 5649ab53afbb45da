package method

import (
	"reflect"

	"batos"
)

func import_reflect(self batos.Self, args []any) (any, error) {
	return nil, nil
}

// verdict: reject import.forbidden
