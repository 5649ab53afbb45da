package method

import "batos"

func make_alloc(self batos.Self, args []any) (any, error) {
	n, _ := args[0].(int64)
	buf := make([]byte, n)
	small := make([]int, 16)
	m := make(map[string]int, n*2)
	return len(buf) + len(small) + len(m), nil
}

// verdict: pass
// want: buf := make([]byte, __meter.Alloc(int(n)))
// want: small := make([]int, 16)
// want: m := make(map[string]int, __meter.Alloc(int(n*2)))
