package method

import "batos"

func channel(self batos.Self, args []any) (any, error) {
	ch := make(chan int)
	<-ch
	return nil, nil
}

// verdict: reject chan.forbidden
