package method

import "batos"

// forged_meter calls the meter's Leave itself to undo the depth count.
func forged_meter(self batos.Self, args []any) (any, error) {
	__meter := batos.Enter(self)
	defer __meter.Leave()
	__meter.Leave()
	__meter.Leave()
	return forged_meter(self, args)
}

// verdict: reject ident.reserved
