package method

import "batos"

// meter_new builds meters itself.
func meter_new(self batos.Self, args []any) (any, error) {
	a := new(batos.Meter)
	b := &batos.Meter{Fuel: 1}
	a.Alloc(1 << 30)
	return b, nil
}

// verdict: reject instrument.meter
