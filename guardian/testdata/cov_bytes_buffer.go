package method

import (
	"bytes"

	"batos"
)

// cov_bytes_buffer overwrites a slot's bytes through a buffer built on them.
func cov_bytes_buffer(self batos.Self, args []any) (any, error) {
	raw, _ := self.Get("raw").([]byte)
	b := bytes.NewBuffer(raw)
	b.Reset()
	b.WriteString("overwritten")
	return b.Len(), nil
}

// verdict: reject covenant.unmarked
