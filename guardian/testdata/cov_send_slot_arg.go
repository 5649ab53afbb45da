package method

import "batos"

func cov_send_slot_arg(self batos.Self, args []any) (any, error) {
	list := self.Get("list")
	return self.Send("sortInPlace", list)
}

// verdict: reject covenant.unmarked
