package method

import (
	"fmt"
	"strconv"

	"batos"
)

func typeswitch(self batos.Self, args []any) (any, error) {
	var out []any
	for _, a := range args {
		switch v := a.(type) {
		case int64:
			out = append(out, strconv.FormatInt(v, 10))
		case string:
			out = append(out, v)
		case nil:
			out = append(out, "nil")
		default:
			out = append(out, fmt.Sprint(v))
		}
	}
	return out, nil
}

// verdict: pass
// writes: false
