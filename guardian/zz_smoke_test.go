package guardian_test

import (
	"fmt"
	"testing"

	"github.com/batos-dev/batos/guardian"
)

func TestSmoke(t *testing.T) {
	src := `package method

import (
	"sort"
	"strings"

	"batos"
)

// tally counts words.
func tally(self batos.Self, args []any) (any, error) {
	text, _ := self.Get("text").(string)
	counts := map[string]int{}
	for _, w := range strings.Fields(text) { // each word
		counts[strings.ToLower(w)]++
	}
	var keys []string
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return counts[keys[i]] > counts[keys[j]] })
	for i := range 3 {
		_ = i
	}
	for i, c := range text {
		_, _ = i, c
	}
	n := fact(5)
	if err := self.Set("count", len(keys)+n); err != nil {
		return nil, err
	}
	self.MarkChanged()
	return keys, nil
}

func fact(n int) int {
	if n <= 1 {
		return 1
	}
	return n * fact(n-1)
}
`
	rep, err := guardian.Audit([]byte(src), "tally", guardian.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("%s\n%+v\n", rep.Source, rep.Rewrites)
	rep2, err := guardian.Audit(rep.Source, "tally", guardian.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if string(rep2.Source) != string(rep.Source) {
		t.Errorf("not idempotent:\n%s", rep2.Source)
	}
}
