package method

import (
	"fmt"

	"batos"
)

type point struct {
	x, y float64
}

const scale = 2

func type_decl(self batos.Self, args []any) (any, error) {
	p := point{1, 2}
	p.x *= scale
	return fmt.Sprintf("(%g, %g)", p.x, p.y), nil
}

// verdict: pass
