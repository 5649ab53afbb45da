package method

import "batos"

func main() {}

func main_func(self batos.Self, args []any) (any, error) {
	return nil, nil
}

// verdict: reject decl.main
