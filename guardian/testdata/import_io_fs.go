package method

import (
	"io/fs"

	"batos"
)

func import_io_fs(self batos.Self, args []any) (any, error) {
	return nil, nil
}

// verdict: reject import.forbidden
