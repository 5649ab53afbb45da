package method

import "batos"

// meter_enter_chained refills a meter without naming a variable.
func meter_enter_chained(self batos.Self, args []any) (any, error) {
	batos.Enter(self).Fuel = 1 << 40
	return nil, nil
}

// verdict: reject instrument.meter
