package method

import "batos"

func select_forever(self batos.Self, args []any) (any, error) {
	select {}
}

// verdict: reject stmt.select
