package memory

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A shelf finds the most similar chunks, best first and ties in ID order,
// among those its filter admits, and forgets what is removed or replaced.
func TestShelfSearch(t *testing.T) {
	ctx := context.Background()
	s := newShelf()
	s.put("c", []float32{1, 0}, "c", map[string]string{"g": "x"})
	s.put("b", []float32{1, 0}, "b", map[string]string{"g": "y"})
	s.put("a", []float32{0.6, 0.8}, "a", map[string]string{"g": "x"})
	s.put("d", []float32{0, 1}, "d", map[string]string{"g": "x"})
	ids := func(hs []hit) []string {
		var out []string
		for _, h := range hs {
			out = append(out, h.id)
		}
		return out
	}

	hs, err := s.search(ctx, []float32{1, 0}, 3, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"b", "c", "a"}, ids(hs))
	assert.InDelta(t, 0.6, hs[2].sim, 1e-6)

	hs, err = s.search(ctx, []float32{1, 0}, 10, map[string]string{"g": "x"})
	require.NoError(t, err)
	assert.Equal(t, []string{"c", "a", "d"}, ids(hs))

	s.remove("b")
	s.remove("b") // twice is fine
	s.put("c", []float32{0, 1}, "c again", map[string]string{"g": "x"})
	assert.Equal(t, 3, s.count())
	hs, err = s.search(ctx, []float32{1, 0}, 2, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "c"}, ids(hs))
	assert.Equal(t, "c again", hs[1].text)

	_, err = s.search(ctx, []float32{1, 0, 0}, 2, nil)
	assert.Error(t, err, "a query of another length")
}
