package psm

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestUnifiedDiff(t *testing.T) {
	for _, tc := range []struct {
		name, a, b, want string
	}{
		{name: "equal", a: "x\ny\n", b: "x\ny\n", want: ""},
		{name: "from nothing", a: "", b: "x\ny\n", want: "--- a\n+++ b\n@@ -0,0 +1,2 @@\n+x\n+y\n"},
		{name: "to nothing", a: "x\n", b: "", want: "--- a\n+++ b\n@@ -1 +0,0 @@\n-x\n"},
		{name: "one line changed", a: "1\n2\n3\n4\n5\n6\n7\n8\n9\n", b: "1\n2\n3\n4\nfive\n6\n7\n8\n9\n",
			want: "--- a\n+++ b\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"},
		{name: "two hunks", a: "a\n1\n2\n3\n4\n5\n6\n7\n8\nb\n", b: "A\n1\n2\n3\n4\n5\n6\n7\n8\nB\n",
			want: "--- a\n+++ b\n@@ -1,4 +1,4 @@\n-a\n+A\n 1\n 2\n 3\n@@ -7,4 +7,4 @@\n 6\n 7\n 8\n-b\n+B\n"},
		{name: "changes six lines apart share a hunk", a: "a\n1\n2\n3\n4\n5\n6\nb\n", b: "A\n1\n2\n3\n4\n5\n6\nB\n",
			want: "--- a\n+++ b\n@@ -1,8 +1,8 @@\n-a\n+A\n 1\n 2\n 3\n 4\n 5\n 6\n-b\n+B\n"},
		{name: "no newline at the end", a: "x\ny", b: "x\ny\n",
			want: "--- a\n+++ b\n@@ -1,2 +1,2 @@\n x\n-y\n\\ No newline at end of file\n+y\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, unifiedDiff("a", "b", tc.a, tc.b, 3))
		})
	}
}

// Applying the diff of a and b to a gives b, and the diff keeps a longest
// common subsequence (no more lines change than must).
func TestUnifiedDiffApplies(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	text := func() string {
		var b strings.Builder
		for range r.IntN(30) {
			fmt.Fprintf(&b, "%d\n", r.IntN(6))
		}
		return b.String()
	}
	for i := range 500 {
		a, b := text(), text()
		d := unifiedDiff("a", "b", a, b, r.IntN(4))
		require.Equal(t, b, applyDiff(t, a, d), "case %d: a=%q b=%q\n%s", i, a, b, d)
		removed := strings.Count(d, "\n-") - strings.Count(d, "\n--- ")
		require.Equal(t, len(splitLines(a))-lcsLen(splitLines(a), splitLines(b)), removed, "case %d: lines removed", i)
	}
}

func lcsLen(a, b []string) int {
	n := 0
	for _, op := range lcsOps(a, b) {
		if op.kind == ' ' {
			n++
		}
	}
	return n
}

// applyDiff applies a unified diff of whole-line texts ending in "\n".
func applyDiff(t *testing.T, a, d string) string {
	if d == "" {
		return a
	}
	src := splitLines(a)
	var out []string
	at := 0 // lines of src copied or consumed
	lines := splitLines(d)[2:]
	for len(lines) > 0 {
		h := lines[0]
		lines = lines[1:]
		require.True(t, strings.HasPrefix(h, "@@ -"), "hunk header %q", h)
		from := strings.Fields(h)[1][1:] // "l" or "l,n"
		start, count, _ := strings.Cut(from, ",")
		n, err := strconv.Atoi(start)
		require.NoError(t, err)
		if count != "0" {
			n-- // 1-based; an empty range names the line before it
		}
		out = append(out, src[at:n]...)
		at = n
		for len(lines) > 0 && !strings.HasPrefix(lines[0], "@@") {
			l := lines[0]
			lines = lines[1:]
			switch l[0] {
			case ' ':
				require.Equal(t, src[at], l[1:])
				out = append(out, l[1:])
				at++
			case '-':
				require.Equal(t, src[at], l[1:])
				at++
			case '+':
				out = append(out, l[1:])
			}
		}
	}
	out = append(out, src[at:]...)
	return strings.Join(out, "")
}
