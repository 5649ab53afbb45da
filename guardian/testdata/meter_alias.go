package method

import b "batos"

// meter_alias reaches the meter through an alias of the host package.
func meter_alias(self b.Self, args []any) (any, error) {
	m := b.Enter(self)
	m.Fuel = 1 << 40
	return nil, nil
}

// verdict: reject import.alias instrument.meter
