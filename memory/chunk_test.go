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
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestChunkSemantic(t *testing.T) {
	ctx := context.Background()
	t.Run("cuts at the change of topic", func(t *testing.T) {
		chunks, err := memory.Chunk(ctx, twoTopics, memory.ChunkOptions{}, offlineBatch)
		if err != nil {
			t.Fatal(err)
		}
		if len(chunks) != 2 {
			t.Fatalf("got %d chunks %q, want 2", len(chunks), chunks)
		}
		if !strings.HasSuffix(chunks[0], "flowing into the water.") || !strings.HasPrefix(chunks[1], "Meanwhile, the bakery") {
			t.Errorf("got cut between %q and %q, want it at the bakery", chunks[0][len(chunks[0])-30:], chunks[1][:30])
		}
	})
	t.Run("short documents are not embedded", func(t *testing.T) {
		calls := 0
		embed := func(ctx context.Context, texts []string) ([][]float32, error) {
			calls++
			return offlineBatch(ctx, texts)
		}
		got, err := memory.Chunk(ctx, "One. Two. Three.", memory.ChunkOptions{}, embed)
		if err != nil || len(got) != 1 || calls != 0 {
			t.Errorf("got %q, %v, %d embedding calls; want one chunk and none", got, err, calls)
		}
	})
	t.Run("embedding errors are returned", func(t *testing.T) {
		boom := fmt.Errorf("boom")
		_, err := memory.Chunk(ctx, twoTopics, memory.ChunkOptions{}, func(context.Context, []string) ([][]float32, error) { return nil, boom })
		if err != boom {
			t.Errorf("got %v, want boom", err)
		}
	})
	t.Run("percentile 100 cuts wherever size allows", func(t *testing.T) {
		few, _ := memory.Chunk(ctx, twoTopics, memory.ChunkOptions{MinBytes: 50, MaxBytes: 2000}, offlineBatch)
		many, _ := memory.Chunk(ctx, twoTopics, memory.ChunkOptions{MinBytes: 50, MaxBytes: 2000, BreakPercentile: 100}, offlineBatch)
		if len(many) <= len(few) {
			t.Errorf("got %d chunks at the 100th percentile and %d at the 5th, want more at the 100th", len(many), len(few))
		}
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
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range chunks {
				if len(c) > opts.MaxBytes {
					t.Errorf("method %d trial %d: chunk %d has %d bytes, max %d", method, trial, i, len(c), opts.MaxBytes)
				}
				if c == "" {
					t.Errorf("method %d trial %d: empty chunk %d", method, trial, i)
				}
			}
			if got, want := strings.Fields(strings.Join(chunks, " ")), strings.Fields(text); !slices.Equal(got, want) &&
				strings.Join(got, "") != strings.Join(want, "") {
				t.Errorf("method %d trial %d: words lost or reordered", method, trial)
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
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
			if len(chunks) == 0 {
				t.Error("no chunks")
			}
			t.Logf("%d chunks in %v", len(chunks), time.Since(start).Round(time.Millisecond))
		})
	}
}
