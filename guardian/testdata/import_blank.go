package method

import (
	_ "strings"

	"batos"
)

func import_blank(self batos.Self, args []any) (any, error) {
	return nil, nil
}

// verdict: reject import.blank
