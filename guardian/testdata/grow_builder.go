package method

import (
	"strings"

	"batos"
)

func grow_builder(self batos.Self, args []any) (any, error) {
	n, _ := args[0].(int64)
	var b strings.Builder
	b.Grow(int(n))
	b.WriteString(strings.Repeat("ab", int(n)))
	return b.String(), nil
}

// verdict: pass
// want: b.Grow(__meter.Alloc(int(n)))
// want: b.WriteString(strings.Repeat("ab", __meter.Alloc(int(n))))
