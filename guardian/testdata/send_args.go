package method

import "batos"

// send_args passes plain values to other methods: no write.
func send_args(self batos.Self, args []any) (any, error) {
	name, _ := self.Get("name").(string)
	opts := map[string]any{"loud": true}
	return self.Send("greet", name, opts, []any{1, 2})
}

// verdict: pass
// writes: false
