package method

import "batos"

func shadow_host(self batos.Self, args []any) (any, error) {
	batos := len(args)
	return batos, nil
}

// verdict: reject ident.shadow
