package method

import (
	"strings"

	"batos"
)

func helper_value(self batos.Self, args []any) (any, error) {
	text, _ := self.Get("text").(string)
	return strings.FieldsFunc(text, isSep), nil
}

// isSep reports separators, counting how many it rejects.
func isSep(r rune) bool {
	for _, s := range ",;|" {
		if r == s {
			return true
		}
	}
	return r == ' '
}

// verdict: pass
// want: return strings.FieldsFunc(text, func(__a0 rune) bool { return isSep(__meter, __a0) }), nil
