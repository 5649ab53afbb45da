package memory

import (
	"context"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSplitSentences(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"plain", "One thing. Two things! Three?", []string{"One thing.", "Two things!", "Three?"}},
		{"abbreviation", "Use e.g. Badger here. Then stop.", []string{"Use e.g. Badger here.", "Then stop."}},
		{"initial", "Ask J. Smith today. Done.", []string{"Ask J. Smith today.", "Done."}},
		{"decimal and lower case", "Pi is 3.14 roughly. ok then.", []string{"Pi is 3.14 roughly. ok then."}},
		{"quotes", `He said "Stop." Then left.`, []string{`He said "Stop."`, "Then left."}},
		{"list items", "Steps:\n- first\n- second\n1. third", []string{"Steps:", "- first", "- second", "1. third"}},
		{"wrapped lines join", "Alpha beta\ngamma.\n\nDelta.", []string{"Alpha beta gamma.", "Delta."}},
		{"headings", "# Title\nText here.", []string{"# Title", "Text here."}},
		{"code fence kept whole", "Look:\n```\nx := 1\ny := 2\n```\nDone.", []string{"Look:", "```\nx := 1\ny := 2\n```", "Done."}},
		{"unclosed fence", "```\ncode", []string{"```\ncode"}},
		{"CRLF", "One.\r\nTwo.\r\n\r\nThree.", []string{"One.", "Two.", "Three."}},
		{"blank", " \n\n\t", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, splitSentences(tt.text, 1000))
		})
	}
}

func TestPercentile(t *testing.T) {
	xs := []float64{0.9, 0.1, 0.5, 0.3, 0.7}
	tests := []struct{ p, want float64 }{{0, 0.1}, {100, 0.9}, {50, 0.5}, {5, 0.14}, {25, 0.3}, {90, 0.82}}
	for _, tt := range tests {
		assert.InDelta(t, tt.want, percentile(xs, tt.p), 1e-9, "percentile(%v)", tt.p)
	}
	assert.Equal(t, 0.4, percentile([]float64{0.4}, 5), "one value")
}

// Commit hooks of one document may run out of commit order (each runs on
// its own committing goroutine); the index must end at the newest state.
func TestApplyOrder(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{})
	c, err := Open(context.Background(), im, Options{Embedder: OfflineEmbedder(8)})
	require.NoError(t, err)
	v := []float32{1, 0, 0, 0, 0, 0, 0, 0}
	mk := func(gen uint64, text string, deleted bool) change {
		return change{id: "d", gen: gen, kind: "k", deleted: deleted, meta: map[string]string{KeyDocument: "d"},
			texts: []string{text}, vecs: [][]float32{v}}
	}
	c.apply(mk(2, "second", false))
	c.apply(mk(1, "first", false)) // late hook of an older commit
	rs, err := c.Search(context.Background(), "anything", 5, nil)
	require.NoError(t, err)
	require.Len(t, rs, 1, "want only the second version")
	require.Equal(t, "second", rs[0].Text, "want only the second version")
	c.apply(mk(4, "", true))
	c.apply(mk(3, "third", false))
	s := c.Stats()
	assert.Zero(t, s.Documents, "documents after a delete and a late older hook")
	assert.Zero(t, s.Chunks, "chunks after a delete and a late older hook")
	c.apply(mk(5, "fifth", false))
	s = c.Stats()
	assert.Equal(t, 1, s.Documents, "documents after re-adding")
	assert.Equal(t, 1, s.Chunks, "chunks after re-adding")
}

// memory sits on uvm and imports no other package of the project.
func TestImportsPointDown(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		af, err := parser.ParseFile(fset, f, src, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range af.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			if strings.HasPrefix(p, "github.com/batos-dev/batos/") {
				assert.Equal(t, "github.com/batos-dev/batos/uvm", p, "%s: memory may import only uvm of the project", f)
			}
		}
	}
}

// The chromem-go collections hold the catalog's embedder, never chromem-go's
// default (which would call OpenAI over the network).
func TestNoChromemDefaultEmbedder(t *testing.T) {
	ctx := context.Background()
	im := uvmtest.Mem(t, uvm.Options{})
	calls := 0
	off := OfflineEmbedder(8)
	e := Embedder{Name: "counted", Embed: func(ctx context.Context, s string) ([]float32, error) {
		calls++
		return off.Embed(ctx, s)
	}}
	c, err := Open(ctx, im, Options{Embedder: e})
	require.NoError(t, err)
	uvmtest.Update(t, im, func(tx *uvm.Tx) error { return c.Add(ctx, tx, Document{ID: "a", Kind: "k", Text: "hello"}) })
	before := calls
	rs, err := c.cols["k"].Query(ctx, "hello", 1, nil, nil) // chromem-go embeds the query itself
	require.NoError(t, err)
	require.Len(t, rs, 1)
	assert.Equal(t, before+1, calls, "chromem-go's query did not use the catalog's embedder")
}
