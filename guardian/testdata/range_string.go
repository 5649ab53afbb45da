package method

import (
	"unicode"

	"batos"
)

// range_string counts the vowels of the text slot.
func range_string(self batos.Self, args []any) (any, error) {
	text, _ := self.Get("text").(string)
	vowels := 0
	for _, c := range text {
		switch unicode.ToLower(c) {
		case 'a', 'e', 'i', 'o', 'u':
			vowels++
		}
	}
	return vowels, nil
}

// verdict: pass
// rewrite: yaegi.rangestring
// want: _, c, size := 0, rune(0), 0
