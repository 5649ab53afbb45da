package method

import "batos"

func cov_append_reslice(self batos.Self, args []any) (any, error) {
	list, _ := self.Get("list").([]any)
	head := list[:1]
	head = append(head, "overwrites list[1]")
	return head, nil
}

// verdict: reject covenant.unmarked
