package memory

import (
	"context"
	"fmt"
	"math"
	"strings"

	chromem "github.com/philippgille/chromem-go"
)

// Embedder turns text into vectors. The catalog records Name and the vector
// length in the image, and refuses to mix vectors of two embedders.
//
// The zero Embedder means the offline default (see OfflineEmbedder).
type Embedder struct {
	// Name identifies the model and every setting that changes its vectors,
	// for example "ollama:nomic-embed-text". Two embedders whose vectors
	// differ must have different names.
	Name string
	// Dimensions is the length of every vector, or 0 when it is only known
	// once the first vector arrives.
	Dimensions int
	// Embed embeds one text. It is chromem-go's EmbeddingFunc; it must be
	// safe for concurrent use and return a vector of the same length for
	// every text. The catalog normalises what it returns, so a model that
	// does not (Ollama's older models, some OpenAI-compatible servers) is
	// fine.
	Embed chromem.EmbeddingFunc
	// EmbedBatch, if not nil, embeds several texts in one call and returns
	// one vector per text, in order. The catalog prefers it to Embed when it
	// has more than one text to embed.
	EmbedBatch func(ctx context.Context, texts []string) ([][]float32, error)
}

// embedMany embeds texts, in batches when it can, and returns unit vectors
// of one length. It never returns a nil or zero vector.
func (e Embedder) embedMany(ctx context.Context, texts []string, batch int) ([][]float32, error) {
	out := make([][]float32, 0, len(texts))
	if e.EmbedBatch != nil && len(texts) > 1 {
		if batch <= 0 {
			batch = len(texts)
		}
		for start := 0; start < len(texts); start += batch {
			end := min(start+batch, len(texts))
			part := make([]string, end-start) // the callee may change its slice
			copy(part, texts[start:end])
			vs, err := e.EmbedBatch(ctx, part)
			if err != nil {
				return nil, &EmbedError{Embedder: e.Name, Err: err}
			}
			if len(vs) != len(part) {
				return nil, &EmbedError{Embedder: e.Name,
					Reason: fmt.Sprintf("%d vectors for %d texts", len(vs), len(part))}
			}
			out = append(out, vs...)
		}
	} else {
		for _, t := range texts {
			if err := ctx.Err(); err != nil {
				return nil, &EmbedError{Embedder: e.Name, Err: err}
			}
			v, err := e.Embed(ctx, t)
			if err != nil {
				return nil, &EmbedError{Embedder: e.Name, Err: err}
			}
			out = append(out, v)
		}
	}
	for i, v := range out {
		n, err := unit(v)
		if err != nil {
			return nil, &EmbedError{Embedder: e.Name, Reason: err.Error()}
		}
		if i > 0 && len(n) != len(out[0]) {
			return nil, &DimensionError{Embedder: e.Name, Want: len(out[0]), Got: len(n)}
		}
		out[i] = n
	}
	return out, nil
}

// unit returns v scaled to length 1 (a copy, unless v already is one).
func unit(v []float32) ([]float32, error) {
	if len(v) == 0 {
		return nil, fmt.Errorf("empty vector")
	}
	var sum float64
	for _, x := range v {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("vector holds %v", x)
		}
		sum += f * f
	}
	if sum == 0 {
		return nil, fmt.Errorf("zero vector")
	}
	norm := math.Sqrt(sum)
	if math.Abs(norm-1) < 1e-6 {
		return v, nil
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(float64(x) / norm)
	}
	return out, nil
}

// blank reports whether s holds nothing but white space.
func blank(s string) bool { return strings.TrimSpace(s) == "" }
