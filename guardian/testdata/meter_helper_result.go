package method

import "batos"

// meter_helper_result gets a meter from a helper and ends its frame.
func meter_helper_result(self batos.Self, args []any) (any, error) {
	meterOf(self).Leave()
	return nil, nil
}

func meterOf(s batos.Self) *batos.Meter {
	return batos.Enter(s)
}

// verdict: reject instrument.meter
