package method

import "batos"

var (
	cache = map[string]any{}
	hits  int
)

func global_var_group(self batos.Self, args []any) (any, error) {
	hits++
	return cache, nil
}

// verdict: reject decl.var
