package method

import (
	"fmt"

	"batos"
)

func send_readonly(self batos.Self, args []any) (any, error) {
	name, err := self.Send("name")
	if err != nil {
		return nil, err
	}
	return fmt.Sprint("I am ", name), nil
}

// verdict: pass
// writes: false
