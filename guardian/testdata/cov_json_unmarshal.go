package method

import (
	"encoding/json"

	"batos"
)

func cov_json_unmarshal(self batos.Self, args []any) (any, error) {
	m, _ := self.Get("doc").(map[string]any)
	err := json.Unmarshal([]byte(`{"k":1}`), &m)
	return m, err
}

// verdict: reject covenant.unmarked
