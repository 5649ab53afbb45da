package method

import "batos"

// gauge has a field and a func field named like the meter's API.
type gauge struct {
	Fuel  int
	Meter func() int
	Enter func(s batos.Self) int
}

// meterer has a method named Meter.
type meterer interface {
	Meter() int
}

// meter_nearmiss_names uses names of the meter's API for its own things:
// none of them is the instrumentation.
func meter_nearmiss_names(self batos.Self, args []any) (any, error) {
	Enter := 3
	Meter := "m"
	g := gauge{Fuel: 2, Meter: func() int { return 7 }, Enter: func(s batos.Self) int { return Enter }}
	g.Fuel--
	var mm meterer
	if v, ok := args[0].(meterer); ok {
		mm = v
	}
	n := g.Meter() + g.Enter(self) + g.Fuel
	if mm != nil {
		n += mm.Meter()
	}
	return Meter + string(rune('0'+n%10)), nil
}

// verdict: pass
// writes: false
