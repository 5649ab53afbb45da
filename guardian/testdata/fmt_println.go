package method

import (
	"fmt"

	"batos"
)

func fmt_println(self batos.Self, args []any) (any, error) {
	fmt.Println("hello")
	return nil, nil
}

// verdict: reject call.forbidden
