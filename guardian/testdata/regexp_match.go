package method

import (
	"regexp"

	"batos"
)

func regexp_match(self batos.Self, args []any) (any, error) {
	re := regexp.MustCompile(`[a-z]+@[a-z]+\.[a-z]{2,}`)
	text, _ := self.Get("text").(string)
	return re.FindAllString(text, -1), nil
}

// verdict: pass
// writes: false
