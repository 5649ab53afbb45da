package memory_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/batos-dev/batos/memory"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/require"
)

// benchWords is a vocabulary of made-up and real words for synthetic chunks.
func benchWords(r *rand.Rand, n int) []string {
	real := strings.Fields("object slot method image commit guardian audit persona memory chunk vector search " +
		"transaction rollback covenant cycle state model prompt answer source compile interpreter badger record " +
		"index skill selector intent signature codex voice research philosophy code orchestrate delegate parent")
	words := append([]string{}, real...)
	const letters = "abcdefghijklmnopqrstuvwxyz"
	for len(words) < n {
		b := make([]byte, 3+r.Intn(7))
		for i := range b {
			b[i] = letters[r.Intn(len(letters))]
		}
		words = append(words, string(b))
	}
	return words
}

func benchSentence(r *rand.Rand, words []string) string {
	n := 12 + r.Intn(20)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = words[r.Intn(len(words))]
	}
	return strings.Join(parts, " ") + "."
}

// build10k fills an image with 9,900 one-chunk documents and 100 skills:
// 10,000 chunks of 384 dimensions.
func build10k(b *testing.B) (*uvm.Image, []string) {
	b.Helper()
	ctx := context.Background()
	im := uvmtest.Disk(b, "", uvm.Options{NoSync: true})
	c, err := memory.Open(ctx, im, memory.Options{})
	require.NoError(b, err)
	r := rand.New(rand.NewSource(1))
	words := benchWords(r, 3000)
	start := time.Now()
	const docs, skills, batch = 9900, 100, 500
	for lo := 0; lo < docs; lo += batch {
		err := im.Update(ctx, func(tx *uvm.Tx) error {
			for i := lo; i < min(lo+batch, docs); i++ {
				d := memory.Document{ID: fmt.Sprintf("doc/%05d", i), Text: benchSentence(r, words),
					Metadata: map[string]string{"group": fmt.Sprintf("g%d", i%10)}}
				if err := c.Add(ctx, tx, d); err != nil {
					return err
				}
			}
			return nil
		})
		require.NoError(b, err)
	}
	err = im.Update(ctx, func(tx *uvm.Tx) error {
		for i := range skills {
			s := memory.Skill{OID: uvm.OID(i + 1), Selector: fmt.Sprintf("skill_%d_%s", i, words[r.Intn(len(words))]),
				Version: 1, Intent: benchSentence(r, words)}
			if err := c.IndexSkill(ctx, tx, s); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(b, err)
	s := c.Stats()
	require.Equal(b, 10000, s.Chunks, "chunks")
	require.Equal(b, 384, s.Dimensions, "dimensions")
	b.Logf("built 10,000 chunks in %v", time.Since(start).Round(time.Millisecond))
	queries := make([]string, 256)
	for i := range queries {
		queries[i] = benchSentence(r, words)[:40]
	}
	return im, queries
}

// BenchmarkQuery10k: top 5 among 10,000 chunks of 384 dimensions. The query
// is embedded by the offline embedder on every call (no cache), so the time
// is the embedding plus chromem-go's exhaustive search.
func BenchmarkQuery10k(b *testing.B) {
	ctx := context.Background()
	im, queries := build10k(b)
	c, err := memory.Open(ctx, im, memory.Options{CacheSize: -1})
	require.NoError(b, err)
	run := func(b *testing.B, filter map[string]string, want int) {
		i := 0
		start := time.Now()
		for b.Loop() {
			rs, err := c.Search(ctx, queries[i%len(queries)], 5, filter)
			require.NoError(b, err)
			require.Len(b, rs, want)
			i++
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(i), "ms/query")
	}
	b.Run("all", func(b *testing.B) { run(b, nil, 5) })
	b.Run("metadata-filter", func(b *testing.B) { run(b, map[string]string{"group": "g3"}, 5) })
	b.Run("kind-filter-100-skills", func(b *testing.B) { run(b, map[string]string{"kind": memory.SkillKind}, 5) })
	b.Run("embed-only", func(b *testing.B) {
		e := memory.OfflineEmbedder(0)
		i := 0
		start := time.Now()
		for b.Loop() {
			_, err := e.Embed(ctx, queries[i%len(queries)])
			require.NoError(b, err)
			i++
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(i), "ms/query")
	})
}

// BenchmarkRebuild10k: Open on an image holding 10,000 chunks, which reads
// every document, chunk and vector record and rebuilds the chromem-go index.
func BenchmarkRebuild10k(b *testing.B) {
	ctx := context.Background()
	im, _ := build10k(b)
	n := 0
	start := time.Now()
	for b.Loop() {
		c, err := memory.Open(ctx, im, memory.Options{})
		require.NoError(b, err)
		require.Equal(b, 10000, c.Stats().Chunks, "chunks after the rebuild")
		n++
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(n), "ms/rebuild")
}

// BenchmarkIngestCodex: the shipped codex ingested into a fresh image
// (parse, chunk, embed with the offline embedder, write, index), and the
// same codex ingested again (nothing to embed).
func BenchmarkIngestCodex(b *testing.B) {
	ctx := context.Background()
	codex := memory.DefaultCodex()
	entries, _, err := memory.ParseCodex(bytes.NewReader(codex))
	require.NoError(b, err)
	ingest := func(b *testing.B, c *memory.Catalog, im *uvm.Image) memory.IngestReport {
		var rep memory.IngestReport
		err := im.Update(ctx, func(tx *uvm.Tx) error {
			var err error
			rep, err = c.IngestCodex(ctx, tx, bytes.NewReader(codex), memory.IngestOptions{})
			return err
		})
		require.NoError(b, err)
		return rep
	}
	b.Run("fresh", func(b *testing.B) {
		var elapsed time.Duration
		n := 0
		for b.Loop() {
			b.StopTimer()
			im, err := uvm.Open("", uvm.Options{InMemory: true}) // closed below, not kept until the end
			require.NoError(b, err)
			c, err := memory.Open(ctx, im, memory.Options{CacheSize: -1})
			require.NoError(b, err)
			b.StartTimer()
			t0 := time.Now()
			rep := ingest(b, c, im)
			elapsed += time.Since(t0)
			require.Equal(b, len(entries), rep.Added, "added, in %+v", rep)
			n++
			b.StopTimer()
			require.NoError(b, im.Close())
			b.StartTimer()
		}
		b.ReportMetric(float64(len(entries)*n)/elapsed.Seconds(), "entries/s")
		b.ReportMetric(float64(elapsed.Microseconds())/1000/float64(n), "ms/codex")
	})
	b.Run("unchanged", func(b *testing.B) {
		im := uvmtest.Mem(b, uvm.Options{})
		c, err := memory.Open(ctx, im, memory.Options{})
		require.NoError(b, err)
		ingest(b, c, im)
		n := 0
		start := time.Now()
		for b.Loop() {
			rep := ingest(b, c, im)
			require.Equal(b, len(entries), rep.Unchanged, "unchanged, in %+v", rep)
			n++
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(n), "ms/codex")
	})
}

// fill adds n one-chunk documents through c, in transactions of 250.
func fill(b *testing.B, c *memory.Catalog, im *uvm.Image, n int) []string {
	b.Helper()
	ctx := context.Background()
	r := rand.New(rand.NewSource(1))
	words := benchWords(r, 3000)
	for lo := 0; lo < n; lo += 250 {
		err := im.Update(ctx, func(tx *uvm.Tx) error {
			for i := lo; i < min(lo+250, n); i++ {
				if err := c.Add(ctx, tx, memory.Document{ID: fmt.Sprintf("doc/%05d", i), Text: benchSentence(r, words)}); err != nil {
					return err
				}
			}
			return nil
		})
		require.NoError(b, err)
	}
	queries := make([]string, 64)
	for i := range queries {
		queries[i] = benchSentence(r, words)[:40]
	}
	return queries
}

// BenchmarkShared: catalogs of two kernels on one PostgreSQL database
// holding 1,000 one-chunk documents. search-unchanged: kernel B searches
// while nothing changes (each search reads the change sequence, one round
// trip, and finds nothing to refresh); search-badger is the same search on
// a Badger image, for comparison. search-after-other-commit: kernel A
// commits something outside the catalog (not timed), so B's search
// refreshes and finds nothing changed. refresh-after-one-change: kernel A
// changes one document (not timed), then B refreshes: the change
// sequence, one scan of the document records, the changed document's
// chunk and vector.
func BenchmarkShared(b *testing.B) {
	ctx := context.Background()
	const docs = 1000
	search := func(b *testing.B, c *memory.Catalog, queries []string) {
		i := 0
		for b.Loop() {
			rs, err := c.Search(ctx, queries[i%len(queries)], 5, nil)
			require.NoError(b, err)
			require.Len(b, rs, 5)
			i++
		}
	}
	b.Run("search-badger", func(b *testing.B) {
		im := uvmtest.Mem(b, uvm.Options{})
		c, err := memory.Open(ctx, im, memory.Options{})
		require.NoError(b, err)
		search(b, c, fill(b, c, im, docs))
	})
	url := sharedDB(b)
	imA, imB := kernel(b, url), kernel(b, url)
	a, err := memory.Open(ctx, imA, memory.Options{})
	require.NoError(b, err)
	queries := fill(b, a, imA, docs)
	c, err := memory.Open(ctx, imB, memory.Options{})
	require.NoError(b, err)
	require.Equal(b, docs, c.Stats().Documents)
	b.Run("search-unchanged", func(b *testing.B) { search(b, c, queries) })
	b.Run("search-after-other-commit", func(b *testing.B) {
		i := 0
		for b.Loop() {
			b.StopTimer()
			require.NoError(b, imA.Update(ctx, func(tx *uvm.Tx) error { return tx.PutRecord("bench", "other", []byte{byte(i)}) }))
			b.StartTimer()
			rs, err := c.Search(ctx, queries[i%len(queries)], 5, nil)
			require.NoError(b, err)
			require.Len(b, rs, 5)
			i++
		}
	})
	b.Run("refresh-after-one-change", func(b *testing.B) {
		i := 0
		for b.Loop() {
			b.StopTimer()
			d := memory.Document{ID: fmt.Sprintf("doc/%05d", i%docs), Text: fmt.Sprintf("Changed %d times: %s", i, queries[i%len(queries)])}
			require.NoError(b, imA.Update(ctx, func(tx *uvm.Tx) error { return a.Add(ctx, tx, d) }))
			b.StartTimer()
			require.NoError(b, c.Refresh(ctx))
			i++
		}
		b.StopTimer()
		require.Equal(b, a.Stats(), c.Stats())
	})
}

// BenchmarkRefresh10k: Refresh with nothing changed on a Badger image
// holding 10,000 chunks: one scan of the document records, compared by
// hash with what the index holds.
func BenchmarkRefresh10k(b *testing.B) {
	ctx := context.Background()
	im, _ := build10k(b)
	c, err := memory.Open(ctx, im, memory.Options{})
	require.NoError(b, err)
	for b.Loop() {
		require.NoError(b, c.Refresh(ctx))
	}
	require.Equal(b, 10000, c.Stats().Chunks)
}
