package method

import "batos"

// meter_enter takes its own meter and refills it to loop for ever.
func meter_enter(self batos.Self, args []any) (any, error) {
	m := batos.Enter(self)
	m.Fuel = 1 << 40
	for {
	}
}

// verdict: reject instrument.meter
