package method

import (
	"fmt"
	"strconv"

	"batos"
)

func format(self batos.Self, args []any) (any, error) {
	price, _ := self.Get("price").(float64)
	qty, _ := self.Get("qty").(int64)
	return fmt.Sprintf("%d x %s = %.2f", qty, strconv.Quote("item"), price*float64(qty)), nil
}

// verdict: pass
// writes: false
