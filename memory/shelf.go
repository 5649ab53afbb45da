package memory

import (
	"cmp"
	"context"
	"fmt"
)

// A shelf is the search index of one kind: its chunks, each with its unit
// vector, text and metadata. A search compares the query with every chunk
// on the shelf, on the caller's goroutine: at the sizes a catalog holds
// (thousands of chunks), a pass over the vectors takes less time than
// handing parts of it to other goroutines and waiting for them. The
// Catalog's lock guards it.
type shelf struct {
	chunks []shelved
	at     map[string]int // chunk ID → index in chunks
}

// shelved is one chunk on a shelf.
type shelved struct {
	id   string
	vec  []float32
	text string
	meta map[string]string
}

// hit is a chunk a search found.
type hit struct {
	*shelved
	sim float32
}

func newShelf() *shelf { return &shelf{at: map[string]int{}} }

func (s *shelf) count() int { return len(s.chunks) }

// put adds a chunk, or replaces the one with its ID.
func (s *shelf) put(id string, vec []float32, text string, meta map[string]string) {
	c := shelved{id: id, vec: vec, text: text, meta: meta}
	if i, ok := s.at[id]; ok {
		s.chunks[i] = c
		return
	}
	s.at[id] = len(s.chunks)
	s.chunks = append(s.chunks, c)
}

// remove takes a chunk off the shelf, if it is there.
func (s *shelf) remove(id string) {
	i, ok := s.at[id]
	if !ok {
		return
	}
	last := len(s.chunks) - 1
	if i != last {
		s.chunks[i] = s.chunks[last]
		s.at[s.chunks[i].id] = i
	}
	s.chunks[last] = shelved{}
	s.chunks = s.chunks[:last]
	delete(s.at, id)
}

// search returns the k chunks most similar to the unit vector qv among
// those whose metadata hold every pair of where, best first; chunks of
// equal similarity come in ID order.
func (s *shelf) search(ctx context.Context, qv []float32, k int, where map[string]string) ([]hit, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	top := make([]hit, 0, k+1)
	for i := range s.chunks {
		c := &s.chunks[i]
		if !matches(c.meta, where) {
			continue
		}
		if len(c.vec) != len(qv) {
			return nil, fmt.Errorf("chunk %s has %d dimensions, the query %d", c.id, len(c.vec), len(qv))
		}
		h := hit{c, similarity(qv, c.vec)}
		if len(top) == k && !better(h, top[k-1]) {
			continue
		}
		// Insert in order; k is small.
		j := len(top)
		top = append(top, h)
		for ; j > 0 && better(h, top[j-1]); j-- {
			top[j] = top[j-1]
		}
		top[j] = h
		if len(top) > k {
			top = top[:k]
		}
	}
	return top, nil
}

// better orders hits: more similar first, then by ID.
func better(a, b hit) bool {
	if a.sim != b.sim {
		return a.sim > b.sim
	}
	return cmp.Less(a.id, b.id)
}

func matches(meta, where map[string]string) bool {
	for k, v := range where {
		if meta[k] != v {
			return false
		}
	}
	return true
}

// similarity is the dot product of two vectors of one length: the cosine
// similarity of unit vectors.
func similarity(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}
