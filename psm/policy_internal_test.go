package psm

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// fullEditDistance is editDistance computed over the whole matrix, with
// no trimming and no band: the reference the fast one must agree with.
func fullEditDistance(a, b string, limit int) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+typoCost(a[i-1], b[j-1]))
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return min(d[len(a)][len(b)], limit+1)
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b  string
		limit int
		want  int
	}{
		{"greet", "greet", 2, 0},
		{"greet", "gret", 2, 1},                  // a deletion
		{"answer", "answre", 2, 1},               // a swap of neighbours
		{"answer", "Answer", 2, 1},               // the other case
		{"answer", "anwwer", 2, 1},               // a neighbouring key
		{"answer", "anpwer", 2, 2},               // a key far away
		{"answer_1", "answer_2", 3, 2},           // digits number things
		{"answer_a1b2c3", "answer_z9y8x7", 2, 3}, // over the limit
		{"abc", "abcdef", 2, 3},                  // lengths too far apart
		{"", "ab", 2, 2},
	} {
		require.Equal(t, c.want, editDistance(c.a, c.b, c.limit), "%q %q", c.a, c.b)
		require.Equal(t, c.want, fullEditDistance(c.a, c.b, c.limit), "reference: %q %q", c.a, c.b)
	}
	// Random pairs over a small alphabet (many shared prefixes,
	// suffixes, swaps and neighbouring keys) agree with the reference.
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "asdqwAS_12"
	word := func() string {
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
	for range 200_000 {
		a, b, limit := word(), word(), r.IntN(5)
		if r.IntN(2) == 0 { // a near variant of a
			bb := []byte(a)
			for range r.IntN(3) {
				if len(bb) > 1 {
					i := r.IntN(len(bb) - 1)
					bb[i], bb[i+1] = bb[i+1], bb[i]
				}
			}
			b = "x" + string(bb)
			if r.IntN(2) == 0 {
				b = string(bb) + "_s"
			}
		}
		require.Equal(t, fullEditDistance(a, b, limit), editDistance(a, b, limit), "%q %q limit %d", a, b, limit)
	}
}

// BenchmarkNearMissDistance compares a selector with 200 others of the
// same shape and length, as screening a message on an object with 200
// methods does.
func BenchmarkNearMissDistance(b *testing.B) {
	sels := make([]string, 200)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range sels {
		h := make([]byte, 12)
		for j := range h {
			h[j] = "0123456789abcdef"[r.IntN(16)]
		}
		sels[i] = "answer_" + string(h)
	}
	q := "answer_0f3a9c1d2e4b"
	limit := nearMissLimit(len(q))
	for b.Loop() {
		for _, s := range sels {
			editDistance(q, s, limit)
		}
	}
}
