package method

import (
	"net"

	"batos"
)

func import_net(self batos.Self, args []any) (any, error) {
	return nil, nil
}

// verdict: reject import.forbidden
