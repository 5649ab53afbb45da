package method

import "batos"

func unnamed_self(_ batos.Self, args []any) (any, error) {
	return len(args), nil
}

// verdict: pass
// rewrite: entry.signature
// want: func unnamed_self(self batos.Self, args []any) (any, error) {
