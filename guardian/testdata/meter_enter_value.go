package method

import "batos"

// meter_enter_value takes batos.Enter as a function value.
func meter_enter_value(self batos.Self, args []any) (any, error) {
	enter := batos.Enter
	enter(self).Refuel()
	return nil, nil
}

// verdict: reject instrument.meter
