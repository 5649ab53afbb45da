package method

import (
	"unicode/utf8"

	"batos"
)

func range_string_utf8(self batos.Self, args []any) (any, error) {
	s, _ := args[0].(string)
	n := 0
	for i := range s {
		if i > 0 {
			n++
		}
	}
	return n + utf8.RuneCountInString(s), nil
}

// verdict: pass
// rewrite: yaegi.rangestring
// want: _, size = utf8.DecodeRuneInString(s[i:])
