package method

import "batos"

func preinstrumented(self batos.Self, args []any) (any, error) {
	__meter := batos.Enter(self)
	defer __meter.Leave()
	total := 0
	for i := 0; i < 10; i++ {
		if __meter.Fuel--; __meter.Fuel < 0 {
			__meter.Refuel()
		}
		total += i
	}
	return total, nil
}

// verdict: pass
