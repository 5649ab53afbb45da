package method

import (
	"net/http"

	"batos"
)

func import_net_http(self batos.Self, args []any) (any, error) {
	return nil, nil
}

// verdict: reject import.forbidden
