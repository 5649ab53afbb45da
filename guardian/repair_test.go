package guardian_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/batos-dev/batos/guardian"
)

// repairsOf returns the repairs of a report as "line:col: rule".
func repairsOf(rep *guardian.Report) []string {
	var out []string
	for _, r := range rep.Repairs {
		s := r.String()
		i := strings.Index(s, ": ")
		j := strings.Index(s[i+2:], ": ")
		out = append(out, s[:i+2+j])
	}
	return out
}

// TestRepairs: what is mechanical is repaired, listed in Report.Repairs,
// and the output audits to itself.
func TestRepairs(t *testing.T) {
	for _, c := range []struct {
		name, src string
		repairs   []string // "line:col: rule"
		want      []string // lines the output must contain
	}{
		{
			name: "missing import",
			src: `package m

import "batos"

func f(self batos.Self, args []any) (any, error) {
	xs := []int{3, 1, 2}
	sort.Ints(xs)
	return strings.Repeat("x", xs[0]), nil
}
`,
			repairs: []string{"7:2: import.missing", "8:9: import.missing"},
			want:    []string{`"sort"`, `"strings"`},
		},
		{
			name: "missing import into a group",
			src: `package m

import (
	"batos"
)

func f(self batos.Self, args []any) (any, error) {
	return strconv.Itoa(len(args)), nil
}
`,
			repairs: []string{"8:9: import.missing"},
			want:    []string{`"strconv"`},
		},
		{
			name: "unused imports",
			src: `package m

import (
	"fmt"
	"strings"

	"batos"
)

import "sort"

func f(self batos.Self, args []any) (any, error) {
	return strings.ToUpper("x"), nil
}
`,
			repairs: []string{"4:2: import.unused", "10:8: import.unused"},
		},
		{
			name: "bare function",
			src: `// f answers the number of arguments in words.
func f(self batos.Self, args []any) (any, error) {
	return strings.Repeat("I", len(args)), nil
}
`,
			repairs: []string{"1:1: package.missing", "2:13: import.missing", "3:9: import.missing"},
			want:    []string{"package method", `"batos"`, `"strings"`},
		},
		{
			name: "bare function with a helper",
			src: `func f(self batos.Self, args []any) (any, error) {
	return double(len(args)), nil
}

func double(n int) int { return 2 * n }
`,
			repairs: []string{"1:1: package.missing", "1:13: import.missing"},
		},
		{
			name: "unused imports with explicit semicolons",
			src: `package m; import "fmt"; import "strings"

import ("sort"; "batos")

func f(self batos.Self, args []any) (any, error) {
	return strings.ToUpper("x"), nil
}
`,
			repairs: []string{"1:19: import.unused", "3:9: import.unused"},
		},
		{
			name: "the member tells the package",
			src: `package m

import "batos"

func f(self batos.Self, args []any) (any, error) {
	return rand.Intn(1), nil
}
`,
			repairs: []string{"6:9: import.missing"},
			want:    []string{`"math/rand"`},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts := guardian.Options{Imports: append(guardian.DefaultImports(), "crypto/rand")}
			rep, err := guardian.Audit([]byte(c.src), "f", opts)
			require.NoError(t, err)
			assert.Equal(t, c.repairs, repairsOf(rep), "repairs %v", rep.Repairs)
			for _, w := range c.want {
				assert.True(t, containsLine(rep.Source, w), "output lacks %q:\n%s", w, rep.Source)
			}
			again, err := guardian.Audit(rep.Source, "f", opts)
			require.NoError(t, err)
			assert.Equal(t, string(rep.Source), string(again.Source), "a second audit changed the source")
			assert.Empty(t, again.Repairs, "a second audit repaired again")
		})
	}
}

// TestRepairKeepsLines: findings on repaired source point at the lines the
// model wrote.
func TestRepairKeepsLines(t *testing.T) {
	src := `package m

import (
	"fmt"

	"batos"
)

func f(self batos.Self, args []any) (any, error) {
	n := len(args)
	return n == true, sort.IsSorted(nil)
}
`
	_, err := guardian.Audit([]byte(src), "f", guardian.Options{})
	var rej *guardian.Rejection
	require.ErrorAs(t, err, &rej)
	require.Len(t, rej.Findings, 2, "got %v", rej)
	assert.Equal(t, "11:14: types.check: invalid operation: n == true (mismatched types int and untyped bool)", rej.Findings[0].String())
	assert.Equal(t, 11, rej.Findings[1].Pos.Line, "got %v", rej)
}

// TestAmbiguousImport: a name two allowed packages bear, with members both
// declare, is a finding that names both; not a repair, nor "undefined".
func TestAmbiguousImport(t *testing.T) {
	src := `package m

import "batos"

func f(self batos.Self, args []any) (any, error) {
	return rand.Int(), nil
}
`
	_, err := guardian.Audit([]byte(src), "f", guardian.Options{Imports: append(guardian.DefaultImports(), "crypto/rand")})
	var rej *guardian.Rejection
	require.ErrorAs(t, err, &rej)
	require.Len(t, rej.Findings, 1, "got %v", rej)
	assert.Equal(t, guardian.RuleImportMissing, rej.Findings[0].Rule)
	assert.Contains(t, rej.Findings[0].Message, `add the import you mean ("crypto/rand" or "math/rand")`)
}

// TestBrokenSourceTeachesAll: a syntax error, a missing entry function and
// the missing imports come back in one rejection.
func TestBrokenSourceTeachesAll(t *testing.T) {
	src := `package m

import "batos"

func answer(self batos.Self, args []any) (any, error) {
	xs := []string{"b", "a"}
	sort.Strings(xs)
	return strings.Join(xs, ","), nil
}

func helper(x int) int {
	return x +
}
`
	_, err := guardian.Audit([]byte(src), "f", guardian.Options{})
	var rej *guardian.Rejection
	require.ErrorAs(t, err, &rej)
	for _, rule := range []string{guardian.RuleSourceParse, guardian.RuleEntryMissing, guardian.RuleImportMissing} {
		assert.True(t, rej.Has(rule), "got %v, want %s", rej, rule)
	}
	msg := rej.Error()
	assert.Contains(t, msg, `add import "sort"`)
	assert.Contains(t, msg, `add import "strings"`)
	assert.Contains(t, msg, "no function named f")
}

// TestBareProseIsNotWrapped: text that starts with no declaration is not
// taken for a bare function.
func TestBareProseIsNotWrapped(t *testing.T) {
	_, err := guardian.Audit([]byte("Here is the method:\nfunc f(self batos.Self, args []any) (any, error) { return nil, nil }\n"), "f", guardian.Options{})
	var rej *guardian.Rejection
	require.ErrorAs(t, err, &rej)
	assert.True(t, rej.Has(guardian.RuleSourceParse), "got %v", rej)
}
