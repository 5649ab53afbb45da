package method

import (
	"strings"

	"batos"
)

// range_string_index returns the first letter of every word.
func range_string_index(self batos.Self, args []any) (any, error) {
	s := strings.TrimSpace("  héllo wörld  ")
	var firsts []any
	for i, r := range s {
		if i == 0 || s[i-1] == ' ' {
			firsts = append(firsts, string(r))
		}
	}
	return firsts, nil
}

// verdict: pass
// rewrite: yaegi.rangestring
// want: for i, r, size := 0, rune(0), 0; i < len(s); i += size {
// want: r, size = utf8.DecodeRuneInString(s[i:])
