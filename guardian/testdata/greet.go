package greeting

import (
	"strings"

	"batos"
)

// greet_the_architect answers the architect by name.
func greet_the_architect(self batos.Self, args []any) (any, error) {
	name, _ := self.Get("architect").(string)
	return "Hello, " + strings.TrimSpace(name), nil
}

// selector: greet_the_architect
// verdict: pass
