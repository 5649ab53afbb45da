package guardian_test

import (
	"bytes"
	"testing"

	"github.com/batos-dev/batos/guardian"
)

// benchSource is a 50-line method of the kind a model writes: slot reads,
// a loop over a string, a map, sorting, a helper, a write with its mark.
const benchSource = `package method

import (
	"fmt"
	"sort"
	"strings"

	"batos"
)

// word_report counts the words of the text slot, stores the top ones and
// answers a summary.
func word_report(self batos.Self, args []any) (any, error) {
	text, _ := self.Get("text").(string)
	limit := 3
	if len(args) > 0 {
		if n, ok := args[0].(int64); ok && n > 0 {
			limit = int(n)
		}
	}
	counts := map[string]int{}
	for _, w := range strings.FieldsFunc(strings.ToLower(text), isSeparator) {
		counts[w]++
	}
	type entry struct {
		word  string
		count int
	}
	var entries []entry
	for w, c := range counts {
		entries = append(entries, entry{w, c})
	}
	sort.Slice(entries, func(i, j int) bool {
		if entries[i].count != entries[j].count {
			return entries[i].count > entries[j].count
		}
		return entries[i].word < entries[j].word
	})
	top := make([]any, 0, limit)
	for i := range min(limit, len(entries)) {
		top = append(top, entries[i].word)
	}
	if err := self.Set("top_words", top); err != nil {
		return nil, err
	}
	self.MarkChanged()
	return fmt.Sprintf("%d distinct words; top %d: %v", len(counts), len(top), top), nil
}

func isSeparator(r rune) bool {
	return r == ' ' || r == ',' || r == '.' || r == '\n'
}
`

// BenchmarkAudit audits and instruments a 50-line method. The issue's
// target is at most 200 µs/op.
func BenchmarkAudit(b *testing.B) {
	src := []byte(benchSource)
	rep, err := guardian.Audit(src, "word_report", guardian.Options{})
	if err != nil {
		b.Fatal(err)
	}
	lines := bytes.Count(src, []byte("\n"))
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := guardian.Audit(src, "word_report", guardian.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(lines), "lines")
	b.ReportMetric(float64(len(rep.Source))/float64(len(src)), "growth")
}

// BenchmarkAuditRejected measures the path a rejected source takes.
func BenchmarkAuditRejected(b *testing.B) {
	src := []byte(`package method

import (
	"os"

	"batos"
)

func leak(self batos.Self, args []any) (any, error) {
	self.Set("x", os.Getenv("HOME"))
	return nil, nil
}
`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := guardian.Audit(src, "leak", guardian.Options{}); err == nil {
			b.Fatal("accepted")
		}
	}
}
