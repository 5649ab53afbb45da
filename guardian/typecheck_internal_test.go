package guardian

import (
	"go/parser"
	"go/token"
	"math"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// benchSourceText reads the source BenchmarkAudit audits (bench_test.go's
// benchSource) so that both benchmarks measure the same method.
func benchSourceText(b *testing.B) []byte {
	data, err := os.ReadFile("bench_test.go")
	require.NoError(b, err)
	m := regexp.MustCompile("(?s)const benchSource = `(.*?)`").FindSubmatch(data)
	require.NotNil(b, m, "no benchSource in bench_test.go")
	return m[1]
}

// BenchmarkTypeCheck measures the audit's type check alone (go/types over
// the embedded standard-library types) on BenchmarkAudit's source, and
// reports it as a multiple of go/parser's ParseFile of the same source
// ("x-parse"; the issue allows at most 4), the fastest of alternating
// rounds of each.
func BenchmarkTypeCheck(b *testing.B) {
	src := benchSourceText(b)
	check := func() {
		u := newUnit(src, "word_report", Options{}.withDefaults())
		require.True(b, u.parse(), "does not parse")
		u.typeCheck()
		require.Empty(b, u.typeErrs)
	}
	parse := func() {
		_, err := parser.ParseFile(token.NewFileSet(), "", src, 0)
		require.NoError(b, err)
	}
	check() // load the standard library's types
	b.ReportAllocs()
	for b.Loop() {
		check()
	}
	const rounds, perRound = 30, 5
	round := func(f func()) time.Duration {
		start := time.Now()
		for range perRound {
			f()
		}
		return time.Since(start)
	}
	c, p := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
	for range rounds {
		c = min(c, round(check))
		p = min(p, round(parse))
	}
	// The unit's own parse is part of check: subtract one parse to leave
	// the type check.
	b.ReportMetric(float64(c-p)/float64(p), "x-parse")
}
