package method

import "batos"

// meter_helper_param hands a meter to a helper that refuels it.
func meter_helper_param(self batos.Self, args []any) (any, error) {
	return spin(nil, 3), nil
}

func spin(m *batos.Meter, n int) int {
	m.Fuel += n
	return n
}

// verdict: reject instrument.meter
