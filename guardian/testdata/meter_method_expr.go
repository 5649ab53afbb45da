package method

import "batos"

// meter_method_expr takes a meter's method as a method expression.
func meter_method_expr(self batos.Self, args []any) (any, error) {
	refuel := (*batos.Meter).Refuel
	return refuel != nil, nil
}

// verdict: reject instrument.meter
