package guardian_test

import (
	"bytes"
	"go/parser"
	"go/token"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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

// BenchmarkAudit audits and instruments a 50-line method (sub-benchmark
// audit; the target is at most 200 µs/op) and, for scale, only
// parses the same source (sub-benchmark parse) with go/parser's ParseFile
// in its default mode, which also resolves names: the standard library's
// cost of the guardian's first step.
//
// The audit also reports its time as a multiple of that parse ("x-parse";
// keep it at most 10: about 6 for the audit's own passes and at most 4 for
// its type check, which BenchmarkTypeCheck measures alone), measured in
// the same run by alternating short rounds of audits and parses and
// comparing the fastest round of each, so that load from other processes
// weighs on both sides alike.
func BenchmarkAudit(b *testing.B) {
	src := []byte(benchSource)
	b.Run("parse", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			parseOnce(b, src)
		}
	})
	b.Run("audit", func(b *testing.B) {
		rep, err := guardian.Audit(src, "word_report", guardian.Options{})
		require.NoError(b, err)
		lines := bytes.Count(src, []byte("\n"))
		b.ReportAllocs()
		b.SetBytes(int64(len(src)))
		b.ResetTimer()
		for b.Loop() {
			auditOnce(b, src)
		}
		b.ReportMetric(float64(lines), "lines")
		b.ReportMetric(float64(len(rep.Source))/float64(len(src)), "growth")
		b.ReportMetric(auditToParse(b, src), "x-parse")
	})
}

// parseOnce parses src with go/parser's default mode.
func parseOnce(b *testing.B, src []byte) {
	if _, err := parser.ParseFile(token.NewFileSet(), "", src, 0); err != nil {
		require.NoError(b, err)
	}
}

// auditOnce audits the benchmark source.
func auditOnce(b *testing.B, src []byte) {
	if _, err := guardian.Audit(src, "word_report", guardian.Options{}); err != nil {
		require.NoError(b, err)
	}
}

// auditToParse returns how many times longer an audit of src takes than a
// parse: the fastest of several rounds of audits over the fastest of as
// many rounds of parses, the rounds alternating.
func auditToParse(b *testing.B, src []byte) float64 {
	const rounds, perRound = 30, 5
	round := func(f func(*testing.B, []byte)) time.Duration {
		start := time.Now()
		for range perRound {
			f(b, src)
		}
		return time.Since(start)
	}
	audit, parse := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
	for range rounds {
		audit = min(audit, round(auditOnce))
		parse = min(parse, round(parseOnce))
	}
	return float64(audit) / float64(parse)
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
			require.Error(b, err, "accepted")
		}
	}
}
