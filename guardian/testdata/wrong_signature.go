package method

import "batos"

func wrong_signature(self batos.Self, name string) string {
	return "hi " + name
}

// verdict: reject entry.signature
