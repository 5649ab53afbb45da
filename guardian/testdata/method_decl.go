package method

import (
	"sort"

	"batos"
)

type byLen []string

func (b byLen) Len() int           { return len(b) }
func (b byLen) Less(i, j int) bool { return len(b[i]) < len(b[j]) }
func (b byLen) Swap(i, j int)      { b[i], b[j] = b[j], b[i] }

func method_decl(self batos.Self, args []any) (any, error) {
	words := byLen{"ccc", "a", "bb"}
	sort.Sort(words)
	return []string(words), nil
}

// verdict: reject decl.method
