package method

import (
	"errors"
	"fmt"

	"batos"
)

func errors_new(self batos.Self, args []any) (any, error) {
	if len(args) == 0 {
		return nil, errors.New("need an argument")
	}
	return nil, fmt.Errorf("got %d arguments", len(args))
}

// verdict: pass
