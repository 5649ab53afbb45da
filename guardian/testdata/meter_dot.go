package method

import . "batos"

// meter_dot reaches the meter through a dot import of the host package.
func meter_dot(self Self, args []any) (any, error) {
	var m *Meter = Enter(self)
	m.Fuel = 1 << 40
	return nil, nil
}

// verdict: reject import.dot instrument.meter
