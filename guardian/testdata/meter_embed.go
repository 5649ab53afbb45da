package method

import "batos"

type budget struct {
	*batos.Meter
	name string
}

// meter_embed embeds the meter in a struct of its own.
func meter_embed(self batos.Self, args []any) (any, error) {
	b := budget{name: "x"}
	return b.name, nil
}

// verdict: reject instrument.meter
