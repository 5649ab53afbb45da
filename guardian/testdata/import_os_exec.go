package method

import (
	"os/exec"

	"batos"
)

func import_os_exec(self batos.Self, args []any) (any, error) {
	return nil, nil
}

// verdict: reject import.forbidden
