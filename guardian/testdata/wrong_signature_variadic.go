package method

import "batos"

func wrong_signature_variadic(self batos.Self, args ...any) (any, error) {
	return len(args), nil
}

// verdict: reject entry.signature
