package memory_test

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batos-dev/batos/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func offlineBatch(ctx context.Context, texts []string) ([][]float32, error) {
	e := memory.OfflineEmbedder(0)
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v, err := e.Embed(ctx, t)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func TestChunkBySize(t *testing.T) {
	tests := []struct {
		name string
		text string
		max  int
		want []string
	}{
		{"packs sentences", "One thing. Two things! Three?", 24, []string{"One thing. Two things!", "Three?"}},
		{"one per chunk", "One thing. Two things! Three?", 11, []string{"One thing.", "Two things!", "Three?"}},
		{"long word cut", "abcdefghijklmnopqrstuvwxyz", 16, []string{"abcdefghijklmnop", "qrstuvwxyz"}},
		{"multibyte cut", strings.Repeat("é", 10), 16, []string{strings.Repeat("é", 8), strings.Repeat("é", 2)}},
		{"long sentence cut at spaces", "aaaa bbbb cccc dddd eeee", 16, []string{"aaaa bbbb cccc", "dddd eeee"}},
		{"blank", " \n\n\t", 16, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := memory.Chunk(context.Background(), tt.text, memory.ChunkOptions{Method: memory.ChunkBySize, MaxBytes: tt.max}, nil)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestChunkSemantic(t *testing.T) {
	ctx := context.Background()
	t.Run("cuts at the change of topic", func(t *testing.T) {
		chunks, err := memory.Chunk(ctx, twoTopics, memory.ChunkOptions{}, offlineBatch)
		require.NoError(t, err)
		require.Len(t, chunks, 2)
		cut := fmt.Sprintf("got cut between %q and %q, want it at the bakery", chunks[0][len(chunks[0])-30:], chunks[1][:30])
		assert.True(t, strings.HasSuffix(chunks[0], "flowing into the water."), cut)
		assert.True(t, strings.HasPrefix(chunks[1], "Meanwhile, the bakery"), cut)
	})
	t.Run("short documents are not embedded", func(t *testing.T) {
		calls := 0
		embed := func(ctx context.Context, texts []string) ([][]float32, error) {
			calls++
			return offlineBatch(ctx, texts)
		}
		got, err := memory.Chunk(ctx, "One. Two. Three.", memory.ChunkOptions{}, embed)
		assert.NoError(t, err)
		assert.Len(t, got, 1)
		assert.Zero(t, calls, "embedding calls")
	})
	t.Run("embedding errors are returned", func(t *testing.T) {
		boom := fmt.Errorf("boom")
		_, err := memory.Chunk(ctx, twoTopics, memory.ChunkOptions{}, func(context.Context, []string) ([][]float32, error) { return nil, boom })
		assert.Same(t, boom, err) // returned as is
	})
	t.Run("percentile 100 cuts wherever size allows", func(t *testing.T) {
		few, _ := memory.Chunk(ctx, twoTopics, memory.ChunkOptions{MinBytes: 50, MaxBytes: 2000}, offlineBatch)
		many, _ := memory.Chunk(ctx, twoTopics, memory.ChunkOptions{MinBytes: 50, MaxBytes: 2000, BreakPercentile: 100}, offlineBatch)
		assert.Greater(t, len(many), len(few), "chunks at the 100th percentile, want more than at the 5th")
	})
}

// Whatever the text, chunks stay within the bounds and keep every word in order.
func TestChunkBounds(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewSource(7))
	words := strings.Fields("the guardian audits source lava flows bread rises bees make honey objects delegate to parents " +
		"transactions commit whole supercalifragilisticexpialidocious é日本")
	for _, method := range []memory.ChunkMethod{memory.ChunkSemantic, memory.ChunkBySize} {
		for trial := range 40 {
			var b strings.Builder
			for range r.Intn(400) + 1 {
				b.WriteString(words[r.Intn(len(words))])
				switch r.Intn(10) {
				case 0:
					b.WriteString(". ")
					if r.Intn(2) == 0 {
						b.WriteString("The ")
					}
				case 1:
					b.WriteString("\n\n")
				default:
					b.WriteString(" ")
				}
			}
			text := b.String()
			opts := memory.ChunkOptions{Method: method, MinBytes: 20 + r.Intn(100), MaxBytes: 150 + r.Intn(400)}
			chunks, err := memory.Chunk(ctx, text, opts, offlineBatch)
			require.NoError(t, err)
			for i, c := range chunks {
				assert.LessOrEqual(t, len(c), opts.MaxBytes, "method %d trial %d: bytes of chunk %d", method, trial, i)
				assert.NotEmpty(t, c, "method %d trial %d: empty chunk %d", method, trial, i)
			}
			// Every word in order; a word cut at the size limit may be split in two.
			got, want := strings.Fields(strings.Join(chunks, " ")), strings.Fields(text)
			if !slices.Equal(got, want) {
				assert.Equal(t, strings.Join(want, ""), strings.Join(got, ""), "method %d trial %d: words lost or reordered", method, trial)
			}
		}
	}
}

// Pathological input stays fast: no quadratic paths in the splitter or the cutter.
func TestChunkLargeInput(t *testing.T) {
	ctx := context.Background()
	for name, text := range map[string]string{
		"abbreviations":  strings.Repeat("see e.g. A ", 100000),
		"tiny sentences": strings.Repeat("A. ", 300000),
		"no spaces":      strings.Repeat("x", 1<<20),
	} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			chunks, err := memory.Chunk(ctx, text, memory.ChunkOptions{}, offlineBatch)
			require.NoError(t, err)
			assert.LessOrEqual(t, time.Since(start), 10*time.Second, "time to chunk")
			assert.NotEmpty(t, chunks)
			t.Logf("%d chunks in %v", len(chunks), time.Since(start).Round(time.Millisecond))
		})
	}
}
