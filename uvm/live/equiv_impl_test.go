package live_test

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// Realistic methods. TestEquivalence runs each natively and, from the text
// of this very file, through audit, instrumentation and the interpreter,
// and requires identical results. Keep them within the method contract:
// lower-case helpers, no package-level variables, no methods on types.

func eqWordFreq(args []any) any {
	text := args[0].(string)
	counts := map[string]int{}
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && r != '\''
	})
	for _, w := range words {
		counts[w]++
	}
	type kv struct {
		k string
		n int
	}
	var list []kv
	for k, n := range counts {
		list = append(list, kv{k, n})
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].n != list[j].n {
			return list[i].n > list[j].n
		}
		return list[i].k < list[j].k
	})
	var out []string
	for i, e := range list {
		if i == 5 {
			break
		}
		out = append(out, fmt.Sprintf("%s:%d", e.k, e.n))
	}
	return strings.Join(out, ",")
}

func eqCaesar(args []any) any {
	text, shift := args[0].(string), int(args[1].(int64))
	var b strings.Builder
	for _, r := range text {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune('a' + (r-'a'+rune(shift)+26)%26)
		case r >= 'A' && r <= 'Z':
			b.WriteRune('A' + (r-'A'+rune(shift)+26)%26)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func eqPalindromes(args []any) any {
	var found []string
	for _, w := range strings.Fields(args[0].(string)) {
		rs := []rune(strings.ToLower(w))
		ok := len(rs) > 1
		for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
			if rs[i] != rs[j] {
				ok = false
				break
			}
		}
		if ok {
			found = append(found, w)
		}
	}
	return found
}

func eqSortRecords(args []any) any {
	recs := args[0].([]any)
	out := make([]map[string]any, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.(map[string]any))
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a["team"].(string) != b["team"].(string) {
			return a["team"].(string) < b["team"].(string)
		}
		return a["score"].(int64) > b["score"].(int64)
	})
	names := []string{}
	for _, r := range out {
		names = append(names, r["name"].(string))
	}
	return names
}

func eqGroupBy(args []any) any {
	groups := map[string][]string{}
	for _, w := range strings.Fields(args[0].(string)) {
		key := strconv.Itoa(len(w))
		groups[key] = append(groups[key], w)
	}
	for k := range groups {
		sort.Strings(groups[k])
	}
	return groups
}

func eqClosures(args []any) any {
	counter := func() func() int {
		n := 0
		return func() int {
			n++
			return n
		}
	}
	c1, c2 := counter(), counter()
	c1()
	c1()
	compose := func(f, g func(int) int) func(int) int {
		return func(x int) int { return f(g(x)) }
	}
	double := func(x int) int { return 2 * x }
	inc := func(x int) int { return x + 1 }
	memo := map[int]int{}
	var fib func(int) int
	fib = func(n int) int {
		if n < 2 {
			return n
		}
		if v, ok := memo[n]; ok {
			return v
		}
		memo[n] = fib(n-1) + fib(n-2)
		return memo[n]
	}
	return []int{c1(), c2(), compose(double, inc)(5), compose(inc, double)(5), fib(80)}
}

func eqFib(n int) int {
	if n < 2 {
		return n
	}
	return eqFib(n-1) + eqFib(n-2)
}

func eqRecursion(args []any) any {
	return eqFib(int(args[0].(int64)))
}

func eqPermute(prefix []int, rest []int, out *[]string) {
	if len(rest) == 0 {
		*out = append(*out, fmt.Sprint(prefix))
		return
	}
	for i := range rest {
		next := append(append([]int{}, rest[:i]...), rest[i+1:]...)
		eqPermute(append(append([]int{}, prefix...), rest[i]), next, out)
	}
}

func eqPermutations(args []any) any {
	n := int(args[0].(int64))
	items := make([]int, n)
	for i := range items {
		items[i] = i + 1
	}
	var out []string
	eqPermute(nil, items, &out)
	return []any{len(out), out[0], out[len(out)-1]}
}

func eqQuicksort(xs []int) []int {
	if len(xs) < 2 {
		return xs
	}
	pivot := xs[len(xs)/2]
	var less, equal, more []int
	for _, x := range xs {
		switch {
		case x < pivot:
			less = append(less, x)
		case x > pivot:
			more = append(more, x)
		default:
			equal = append(equal, x)
		}
	}
	return append(append(eqQuicksort(less), equal...), eqQuicksort(more)...)
}

func eqSort(args []any) any {
	seed := int(args[0].(int64))
	xs := make([]int, 2000)
	for i := range xs {
		seed = (seed*1103515245 + 12345) % 2147483648
		xs[i] = seed % 1000
	}
	s := eqQuicksort(xs)
	return []int{s[0], s[500], s[1999], len(s)}
}

func eqRoman(args []any) any {
	vals := []int{1000, 900, 500, 400, 100, 90, 50, 40, 10, 9, 5, 4, 1}
	syms := []string{"M", "CM", "D", "CD", "C", "XC", "L", "XL", "X", "IX", "V", "IV", "I"}
	var out []string
	for _, a := range args {
		n := int(a.(int64))
		var b strings.Builder
		for i, v := range vals {
			for n >= v {
				b.WriteString(syms[i])
				n -= v
			}
		}
		out = append(out, b.String())
	}
	return out
}

func eqParse(args []any) any {
	total := 0.0
	var bad []string
	for _, line := range strings.Split(args[0].(string), "\n") {
		fields := strings.Split(line, ",")
		if len(fields) != 2 {
			bad = append(bad, strconv.Quote(line))
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(fields[1]), 64)
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		total += f
	}
	return map[string]any{"total": total, "bad": bad}
}

func eqTree(depth int) map[string]any {
	if depth == 0 {
		return map[string]any{"leaf": true}
	}
	return map[string]any{"left": eqTree(depth - 1), "right": eqTree(depth - 1), "depth": depth}
}

func eqNested(args []any) any {
	return eqTree(int(args[0].(int64)))
}

func eqPrimes(args []any) any {
	n := int(args[0].(int64))
	sieve := make([]bool, n+1)
	count := 0
	last := 0
	for i := 2; i <= n; i++ {
		if sieve[i] {
			continue
		}
		count++
		last = i
		for j := i * i; j <= n; j += i {
			sieve[j] = true
		}
	}
	return []int{count, last}
}

func eqMillion(args []any) any {
	sum := 0
	for i := 0; i < 1000000; i++ {
		sum += i % 7
	}
	return sum
}

func eqDepth(n int) int {
	if n == 0 {
		return 0
	}
	return eqDepth(n-1) + 1
}

func eqDeep(args []any) any {
	return eqDepth(int(args[0].(int64)))
}

func eqBigData(args []any) any {
	s := strings.Repeat("abcdefgh", 4<<20) // 32 MiB
	xs := make([]int64, 0, 1000)
	for i := 0; i < 200000; i++ {
		xs = append(xs, int64(i))
	}
	var sum int64
	for _, x := range xs {
		sum += x
	}
	return []int64{int64(len(s)), int64(strings.Count(s, "h")), sum}
}
