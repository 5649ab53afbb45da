package method

import (
	"strings"

	"batos"
)

func helper_readonly(self batos.Self, args []any) (any, error) {
	title, _ := self.Get("title").(string)
	return shout(title), nil
}

func shout(s string) string {
	return strings.ToUpper(s) + "!"
}

// verdict: pass
// writes: false
// want: return shout(title), nil
