package method

import "batos"

// meter_forged_second writes the guardian's own first statement (which
// the guardian takes out and puts back) and then a meter of its own.
func meter_forged_second(self batos.Self, args []any) (any, error) {
	__meter := batos.Enter(self)
	defer __meter.Leave()
	m := batos.Enter(self)
	m.Fuel = 1 << 40
	return nil, nil
}

// verdict: reject instrument.meter
