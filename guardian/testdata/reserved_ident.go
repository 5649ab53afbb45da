package method

import "batos"

func reserved_ident(self batos.Self, args []any) (any, error) {
	__secret := 1
	return __secret, nil
}

// verdict: reject ident.reserved
