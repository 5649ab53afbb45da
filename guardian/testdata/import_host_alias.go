package method

import b "batos"

func import_host_alias(self b.Self, args []any) (any, error) {
	return nil, nil
}

// verdict: reject import.alias
