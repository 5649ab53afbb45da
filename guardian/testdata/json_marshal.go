package method

import (
	"encoding/json"

	"batos"
)

func json_marshal(self batos.Self, args []any) (any, error) {
	b, err := json.Marshal(self.Get("profile"))
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// verdict: pass
// writes: false
