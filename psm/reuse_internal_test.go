package psm

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRenameEntry(t *testing.T) {
	const src = `package m

import "batos"

// fact computes a factorial; self.fact is not the function.
func fact(self batos.Self, args []any) (any, error) {
	n, _ := args[0].(int64)
	if n <= 1 {
		return int64(1), nil
	}
	v, err := fact(self, []any{n - 1})
	if err != nil {
		return nil, err
	}
	_ = self.Has("fact")
	return n * v.(int64), nil
}
`
	got, err := renameEntry(src, "fact", "factorial")
	require.NoError(t, err)
	assert.Contains(t, got, "func factorial(self batos.Self, args []any) (any, error) {")
	assert.Contains(t, got, "v, err := factorial(self, []any{n - 1})", "the recursive call")
	assert.Contains(t, got, `self.Has("fact")`, "strings stay")
	assert.Contains(t, got, "// fact computes a factorial", "comments stay")

	same, err := renameEntry(src, "fact", "fact")
	require.NoError(t, err)
	assert.Equal(t, src, same)

	_, err = renameEntry(src, "nothing", "other")
	assert.ErrorContains(t, err, "no function nothing")
	_, err = renameEntry(src+"\nfunc factorial() {}\n", "fact", "factorial")
	assert.ErrorContains(t, err, "already declares")
	_, err = renameEntry("not go", "fact", "factorial")
	assert.Error(t, err)
}
