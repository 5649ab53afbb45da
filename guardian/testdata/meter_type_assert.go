package method

import "batos"

// meter_type_assert looks for a meter among its arguments.
func meter_type_assert(self batos.Self, args []any) (any, error) {
	if m, ok := args[0].(*batos.Meter); ok {
		m.Refuel()
	}
	switch v := args[0].(type) {
	case batos.Meter:
		return v.Fuel, nil
	}
	return nil, nil
}

// verdict: reject instrument.meter
