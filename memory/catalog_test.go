package memory_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/batos-dev/batos/memory"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSearch(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{})
	c := openCatalog(t, im, memory.Options{})
	add(t, c, im, animals...)

	tests := []struct {
		name   string
		query  string
		k      int
		filter map[string]string
		want   []string // document IDs, best first (a prefix of the results when k is larger)
		count  int
	}{
		{"best match first", "which animal makes honey in a hive?", 1, nil, []string{"bees"}, 1},
		{"k larger than count", "honey", 100, nil, []string{"bees"}, 4},
		{"filter by kind", "honey", 10, map[string]string{"kind": "log"}, nil, 2},
		{"filter by kind picks match", "lava and magma", 1, map[string]string{"kind": "log"}, []string{"volcano"}, 1},
		{"filter by metadata", "cargo", 10, map[string]string{"lang": "fr"}, []string{"volcano"}, 1},
		{"filter by source", "mice", 10, map[string]string{"source": "zoo"}, []string{"cats"}, 2},
		{"filter by kind and metadata", "anything", 10, map[string]string{"kind": "note", "lang": "fr"}, nil, 0},
		{"unknown kind", "honey", 5, map[string]string{"kind": "nope"}, nil, 0},
		{"filter by document", "purr", 5, map[string]string{"document": "ships"}, []string{"ships"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := search(t, c, tt.query, tt.k, tt.filter)
			require.Len(t, rs, tt.count, "results %v", docIDs(rs))
			if len(tt.want) > 0 {
				assert.Equal(t, tt.want, docIDs(rs)[:len(tt.want)], "first results")
			}
			for i := 1; i < len(rs); i++ {
				assert.LessOrEqual(t, rs[i].Similarity, rs[i-1].Similarity, "results not sorted")
			}
			for _, r := range rs {
				for k, v := range tt.filter {
					assert.Equal(t, v, r.Metadata[k], "result %s: metadata %s", r.ID, k)
				}
			}
		})
	}

	t.Run("result fields", func(t *testing.T) {
		rs := search(t, c, "container cranes", 1, nil)
		require.NotEmpty(t, rs)
		r := rs[0]
		want := memory.Result{ID: "ships#0", DocumentID: "ships", Chunk: 0, Kind: "log", Source: "port", Text: animals[2].Text,
			Metadata:   map[string]string{"kind": "log", "source": "port", "document": "ships", "chunk": "0", "lang": "en"},
			Similarity: r.Similarity}
		assert.Equal(t, want, r)
		assert.Greater(t, r.Similarity, float32(0), "similarity, want in (0, 1]")
		assert.LessOrEqual(t, r.Similarity, float32(1.0001), "similarity, want in (0, 1]")
		// The metadata is the caller's: changing it does not change the index.
		r.Metadata["lang"] = "xx"
		again := search(t, c, "container cranes", 1, nil)
		require.NotEmpty(t, again)
		assert.Equal(t, "en", again[0].Metadata["lang"], "lang after changing a result")
	})

	t.Run("stats", func(t *testing.T) {
		s := c.Stats()
		assert.Equal(t, 4, s.Documents, "documents")
		assert.Equal(t, 4, s.Chunks, "chunks")
		assert.Equal(t, 384, s.Dimensions, "dimensions")
		assert.Equal(t, "batos-hash-v1/384", s.Embedder)
		assert.Equal(t, 2, s.Kinds["note"], "notes")
		assert.Equal(t, 2, s.Kinds["log"], "logs")
	})
}

func TestSearchEmptyCatalog(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{})
	cnt := newCounting(memory.OfflineEmbedder(0))
	c := openCatalog(t, im, memory.Options{Embedder: cnt.embedder()})
	rs, err := c.Search(context.Background(), "anything at all", 5, nil)
	require.NoError(t, err)
	require.Nil(t, rs, "want no results")
	assert.Zero(t, cnt.texts.Load(), "embedder calls for an empty catalog")
}

func TestSearchBadInput(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{})
	c := openCatalog(t, im, memory.Options{})
	add(t, c, im, animals[0])
	tests := []struct {
		name  string
		query string
		k     int
		want  error
	}{
		{"zero k", "cats", 0, memory.ErrBadLimit},
		{"negative k", "cats", -3, memory.ErrBadLimit},
		{"empty query", "", 3, memory.ErrEmptyText},
		{"blank query", " \n\t", 3, memory.ErrEmptyText},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Search(context.Background(), tt.query, tt.k, nil)
			assert.ErrorIs(t, err, tt.want)
		})
	}
}

func TestAddBadInput(t *testing.T) {
	ctx := context.Background()
	im := uvmtest.Mem(t, uvm.Options{})
	c := openCatalog(t, im, memory.Options{})
	other := uvmtest.Mem(t, uvm.Options{})
	tests := []struct {
		name string
		doc  memory.Document
		want error
	}{
		{"empty id", memory.Document{Text: "x"}, memory.ErrBadID},
		{"control character in id", memory.Document{ID: "a\x00b", Text: "x"}, memory.ErrBadID},
		{"long id", memory.Document{ID: string(make([]byte, memory.MaxIDLen+1)), Text: "x"}, memory.ErrBadID},
		{"invalid utf-8 id", memory.Document{ID: "\xff", Text: "x"}, memory.ErrBadID},
		{"empty text", memory.Document{ID: "a"}, memory.ErrEmptyText},
		{"blank text", memory.Document{ID: "a", Text: "  \n "}, memory.ErrEmptyText},
		{"reserved key", memory.Document{ID: "a", Text: "x", Metadata: map[string]string{"kind": "y"}}, memory.ErrReservedKey},
		{"reserved chunk key", memory.Document{ID: "a", Text: "x", Metadata: map[string]string{"chunk": "1"}}, memory.ErrReservedKey},
		{"bad kind", memory.Document{ID: "a", Text: "x", Kind: "a\nb"}, uvm.ErrBadName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := im.Update(ctx, func(tx *uvm.Tx) error { return c.Add(ctx, tx, tt.doc) })
			assert.ErrorIs(t, err, tt.want)
		})
	}
	t.Run("read-only transaction", func(t *testing.T) {
		err := im.View(ctx, func(tx *uvm.Tx) error { return c.Add(ctx, tx, animals[0]) })
		assert.ErrorIs(t, err, uvm.ErrReadOnly)
	})
	t.Run("transaction of another image", func(t *testing.T) {
		err := other.Update(ctx, func(tx *uvm.Tx) error { return c.Add(ctx, tx, animals[0]) })
		assert.ErrorIs(t, err, memory.ErrWrongImage)
	})
	assert.Zero(t, c.Stats().Documents, "documents after only bad adds")
}

func TestOpenBadOptions(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{})
	e := memory.OfflineEmbedder(8)
	tests := []struct {
		name string
		opts memory.Options
		want error
	}{
		{"name without function", memory.Options{Embedder: memory.Embedder{Name: "x"}}, memory.ErrNoEmbedder},
		{"function without name", memory.Options{Embedder: memory.Embedder{Embed: e.Embed}}, memory.ErrNoEmbedder},
		{"negative dimensions", memory.Options{Embedder: memory.Embedder{Name: "x", Dimensions: -1, Embed: e.Embed}}, memory.ErrNoEmbedder},
		{"bad namespace", memory.Options{Namespace: "a\x01b"}, uvm.ErrBadName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := memory.Open(context.Background(), im, tt.opts)
			assert.ErrorIs(t, err, tt.want)
		})
	}
	_, err := memory.Open(context.Background(), nil, memory.Options{})
	assert.Error(t, err, "Open(nil image)")
}

// TestRollback is the evidence: what is learnt inside a failed
// transaction is found nowhere afterwards, neither in the index nor in the
// image, also after reopening.
func TestRollback(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	im := uvmtest.Disk(t, dir, uvm.Options{NoSync: true})
	c := openCatalog(t, im, memory.Options{})
	add(t, c, im, animals[0]) // something committed, which must survive
	before := uvmtest.Fingerprint(t, im)

	secret := memory.Document{ID: "secret", Kind: "note", Text: "The treasure is buried under the old lighthouse on Zanzibar."}
	replaced := memory.Document{ID: "cats", Kind: "note", Text: "Cats were replaced by something about lighthouses on Zanzibar."}
	err := im.Update(ctx, func(tx *uvm.Tx) error {
		if err := c.Add(ctx, tx, secret); err != nil {
			return err
		}
		if err := c.Add(ctx, tx, replaced); err != nil {
			return err
		}
		return errRollback
	})
	require.ErrorIs(t, err, errRollback)

	check := func(t *testing.T, c *memory.Catalog, im *uvm.Image) {
		t.Helper()
		rs := search(t, c, "treasure buried lighthouse Zanzibar", 10, nil)
		require.Equal(t, []string{"cats"}, docIDs(rs), "want only the committed document")
		assert.Equal(t, animals[0].Text, rs[0].Text, "want the committed text")
		assert.Equal(t, before, uvmtest.Fingerprint(t, im), "image changed by a rolled-back transaction")
		s := c.Stats()
		assert.Equal(t, 1, s.Documents, "documents")
		assert.Equal(t, 1, s.Chunks, "chunks")
	}
	t.Run("after the failed transaction", func(t *testing.T) { check(t, c, im) })

	im2 := uvmtest.Reopen(t, im, dir, uvm.Options{NoSync: true})
	c2 := openCatalog(t, im2, memory.Options{})
	before = uvmtest.Fingerprint(t, im2) // reopening may touch uvm's own bookkeeping, not memory's
	t.Run("after reopening", func(t *testing.T) { check(t, c2, im2) })
}

// A transaction that Update retries after a conflict runs its function
// again; the index must learn the document once, from the attempt that
// committed.
func TestConflictRetry(t *testing.T) {
	ctx := context.Background()
	im := uvmtest.Mem(t, uvm.Options{})
	cnt := newCounting(memory.OfflineEmbedder(0))
	c := openCatalog(t, im, memory.Options{Embedder: cnt.embedder()})
	var oid uvm.OID
	uvmtest.Update(t, im, func(tx *uvm.Tx) error {
		o, err := tx.New()
		oid = o.OID()
		return err
	})
	attempts := 0
	err := im.Update(ctx, func(tx *uvm.Tx) error {
		attempts++
		o, err := tx.Object(oid)
		if err != nil {
			return err
		}
		if err := c.Add(ctx, tx, animals[1]); err != nil {
			return err
		}
		if attempts == 1 { // a concurrent writer changes the same object
			if err := im.Update(ctx, func(tx2 *uvm.Tx) error {
				o2, err := tx2.Object(oid)
				if err != nil {
					return err
				}
				return o2.Set("touched", true)
			}); err != nil {
				return err
			}
		}
		return o.Set("learnt", "bees")
	})
	require.NoError(t, err)
	require.GreaterOrEqual(t, attempts, 2, "want a retry")
	assert.Equal(t, int64(1), cnt.texts.Load(), "embedder calls over %d attempts, want 1 (the cache)", attempts)
	s := c.Stats()
	assert.Equal(t, 1, s.Documents, "documents")
	assert.Equal(t, 1, s.Chunks, "chunks")
	assert.Equal(t, []string{"bees"}, docIDs(search(t, c, "honey", 5, nil)))
}

func TestNothingEmbeddedTwice(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	im := uvmtest.Disk(t, dir, uvm.Options{NoSync: true})
	cnt := newCounting(memory.OfflineEmbedder(0))
	c := openCatalog(t, im, memory.Options{Embedder: cnt.embedder(), CacheSize: -1})

	add(t, c, im, animals[0])
	require.Equal(t, int64(1), cnt.texts.Load(), "first add: texts embedded")
	add(t, c, im, animals[0])
	assert.Equal(t, int64(1), cnt.texts.Load(), "same document again: texts embedded, want still 1")
	twin := memory.Document{ID: "cats-twin", Kind: "other", Text: animals[0].Text}
	add(t, c, im, twin)
	assert.Equal(t, int64(1), cnt.texts.Load(), "same text in another document: texts embedded, want still 1")
	assert.Equal(t, 1, countRecords(t, im, "memory.vec"), "vector records for one distinct text")
	// Without the cache, a rolled-back add embeds, and the next one embeds again.
	doc := memory.Document{ID: "new", Text: "Owls hunt at night and see in the dark."}
	_ = im.Update(ctx, func(tx *uvm.Tx) error {
		if err := c.Add(ctx, tx, doc); err != nil {
			return err
		}
		return errRollback
	})
	add(t, c, im, doc)
	assert.Equal(t, int64(3), cnt.texts.Load(), "rolled back then committed without a cache: texts embedded")

	// After reopening, the vectors come from the image.
	im2 := uvmtest.Reopen(t, im, dir, uvm.Options{NoSync: true})
	cnt2 := newCounting(memory.OfflineEmbedder(0))
	c2 := openCatalog(t, im2, memory.Options{Embedder: cnt2.embedder()})
	add(t, c2, im2, animals[0], memory.Document{ID: "cats-3", Text: animals[0].Text}, doc)
	assert.Zero(t, cnt2.texts.Load(), "after reopening: texts embedded (%q)", cnt2.seen)
}

func TestReplaceAndDelete(t *testing.T) {
	ctx := context.Background()
	im := uvmtest.Mem(t, uvm.Options{})
	c := openCatalog(t, im, memory.Options{})
	add(t, c, im, animals...)
	vecs := countRecords(t, im, "memory.vec")

	add(t, c, im, memory.Document{ID: "bees", Kind: "note", Text: "Wasps build paper nests and sting when disturbed."})
	for _, r := range search(t, c, "nectar honey wax queen hive", 10, nil) {
		assert.NotEqual(t, animals[1].Text, r.Text, "old text of a replaced document still found: %+v", r)
	}
	rs := search(t, c, "paper nests sting", 1, nil)
	require.NotEmpty(t, rs)
	assert.Equal(t, "bees", rs[0].DocumentID, "want the new text of bees")
	assert.Equal(t, "Wasps build paper nests and sting when disturbed.", rs[0].Text, "want the new text of bees")
	assert.Equal(t, vecs, countRecords(t, im, "memory.vec"), "vectors after replacing one document (old one dropped, new one added)")
	s := c.Stats()
	assert.Equal(t, 4, s.Documents, "documents")
	assert.Equal(t, 4, s.Chunks, "chunks")

	uvmtest.Update(t, im, func(tx *uvm.Tx) error {
		if err := c.Delete(ctx, tx, "bees"); err != nil {
			return err
		}
		return c.Delete(ctx, tx, "never-was")
	})
	assert.NotContains(t, docIDs(search(t, c, "paper nests sting", 10, nil)), "bees", "deleted document still found")
	assert.Equal(t, vecs-1, countRecords(t, im, "memory.vec"), "vectors after a delete")
	assert.Equal(t, 3, countRecords(t, im, "memory.chunk"), "chunk records")
	assert.Equal(t, 3, countRecords(t, im, "memory.ref"), "ref records")

	// Deleted, then added again: the index must take it back.
	add(t, c, im, animals[1])
	assert.Equal(t, []string{"bees"}, docIDs(search(t, c, "nectar honey wax", 1, nil)), "re-added document")

	// A vector shared by two chunks survives the delete of one of them.
	add(t, c, im, memory.Document{ID: "cats-copy", Text: animals[0].Text})
	uvmtest.Update(t, im, func(tx *uvm.Tx) error { return c.Delete(ctx, tx, "cats") })
	assert.Equal(t, []string{"cats-copy"}, docIDs(search(t, c, "purr mice", 1, nil)))
	c2 := openCatalog(t, im, memory.Options{}) // rebuild finds every vector it needs
	assert.Equal(t, 4, c2.Stats().Documents, "documents after rebuild")
}

func TestReopenRebuild(t *testing.T) {
	dir := t.TempDir()
	im := uvmtest.Disk(t, dir, uvm.Options{NoSync: true})
	c := openCatalog(t, im, memory.Options{})
	long := memory.Document{ID: "long", Kind: "essay", Text: twoTopics}
	add(t, c, im, append(slices.Clone(animals), long)...)
	wantStats := c.Stats()
	wantRes := search(t, c, "volcano lava", 3, nil)

	im2 := uvmtest.Reopen(t, im, dir, uvm.Options{NoSync: true})
	c2 := openCatalog(t, im2, memory.Options{})
	assert.Equal(t, fmt.Sprint(wantStats), fmt.Sprint(c2.Stats()), "stats")
	assert.GreaterOrEqual(t, wantStats.Kinds["essay"], 2, "the long document was not split: %+v", wantStats)
	assert.Equal(t, fmt.Sprint(wantRes), fmt.Sprint(search(t, c2, "volcano lava", 3, nil)), "results")
}

func TestEmbedderChange(t *testing.T) {
	ctx := context.Background()
	im := uvmtest.Disk(t, "", uvm.Options{NoSync: true})
	c := openCatalog(t, im, memory.Options{})
	add(t, c, im, animals...)
	add(t, c, im, memory.Document{ID: "cats-copy", Text: animals[0].Text})
	before := uvmtest.Fingerprint(t, im)

	t.Run("fails by default", func(t *testing.T) {
		_, err := memory.Open(ctx, im, memory.Options{Embedder: memory.OfflineEmbedder(128)})
		var me *memory.EmbedderMismatchError
		require.ErrorAs(t, err, &me)
		require.ErrorIs(t, err, memory.ErrEmbedderMismatch)
		assert.Equal(t, memory.EmbedderMismatchError{Stored: "batos-hash-v1/384", StoredDims: 384, Requested: "batos-hash-v1/128", RequestedDims: 128}, *me)
		assert.Equal(t, before, uvmtest.Fingerprint(t, im), "a refused open changed the image")
	})
	t.Run("same name, other dimension", func(t *testing.T) {
		e := memory.OfflineEmbedder(128)
		e.Name = "batos-hash-v1/384"
		_, err := memory.Open(ctx, im, memory.Options{Embedder: e, OnEmbedderChange: memory.Reembed})
		require.ErrorIs(t, err, memory.ErrEmbedderMismatch, "even with Reembed")
	})
	t.Run("old catalog refuses writes after a switch", func(t *testing.T) {
		cnt := newCounting(memory.OfflineEmbedder(128))
		c128, err := memory.Open(ctx, im, memory.Options{Embedder: cnt.embedder(), OnEmbedderChange: memory.Reembed})
		require.NoError(t, err)
		assert.Equal(t, int64(4), cnt.texts.Load(), "texts re-embedded (five chunks, four distinct texts)")
		s := c128.Stats()
		assert.Equal(t, 128, s.Dimensions, "dimensions")
		assert.Equal(t, 5, s.Documents, "documents")
		assert.Equal(t, "batos-hash-v1/128", s.Embedder)
		assert.Equal(t, []string{"bees"}, docIDs(search(t, c128, "nectar honey wax", 1, nil)))
		assert.Equal(t, 4, countRecords(t, im, "memory.vec"), "vector records (the old ones deleted)")
		err = im.Update(ctx, func(tx *uvm.Tx) error { return c.Add(ctx, tx, memory.Document{ID: "x", Text: "late"}) })
		assert.ErrorIs(t, err, memory.ErrEmbedderMismatch, "old catalog")
		// And back again, with nothing embedded twice for texts that still have vectors? The
		// 384 vectors were deleted, so they are embedded again: four texts.
		cnt384 := newCounting(memory.OfflineEmbedder(0))
		c384 := openCatalog(t, im, memory.Options{Embedder: cnt384.embedder(), OnEmbedderChange: memory.Reembed})
		assert.Equal(t, int64(4), cnt384.texts.Load(), "texts embedded when switching back")
		s = c384.Stats()
		assert.Equal(t, 384, s.Dimensions, "dimensions")
		assert.Equal(t, 5, s.Documents, "documents")
	})
}

func TestDimensionMismatch(t *testing.T) {
	ctx := context.Background()
	im := uvmtest.Mem(t, uvm.Options{})
	off := memory.OfflineEmbedder(16)
	liar := memory.Embedder{Name: "liar", Dimensions: 32, Embed: off.Embed}
	c := openCatalog(t, im, memory.Options{Embedder: liar})
	err := im.Update(ctx, func(tx *uvm.Tx) error { return c.Add(ctx, tx, animals[0]) })
	var de *memory.DimensionError
	require.ErrorAs(t, err, &de)
	require.Equal(t, 32, de.Want, "DimensionError.Want")
	require.Equal(t, 16, de.Got, "DimensionError.Got")

	// An embedder that changes its mind between texts.
	n := 0
	fickle := memory.Embedder{Name: "fickle", Embed: func(ctx context.Context, text string) ([]float32, error) {
		n++
		v := make([]float32, 4+n%2)
		v[0] = 1
		return v, nil
	}}
	im2 := uvmtest.Mem(t, uvm.Options{})
	c2 := openCatalog(t, im2, memory.Options{Embedder: fickle})
	add(t, c2, im2, animals[0]) // learns 5 dimensions
	err = im2.Update(ctx, func(tx *uvm.Tx) error { return c2.Add(ctx, tx, animals[1]) })
	if assert.ErrorAs(t, err, &de) {
		assert.Equal(t, 5, de.Want, "DimensionError.Want")
		assert.Equal(t, 4, de.Got, "DimensionError.Got")
	}
	s := c2.Stats()
	assert.Equal(t, 5, s.Dimensions, "dimensions")
	assert.Equal(t, 1, s.Documents, "documents")
}

func TestBadEmbedderAnswers(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("model on fire")
	tests := []struct {
		name  string
		embed func(ctx context.Context, text string) ([]float32, error)
		want  error
	}{
		{"error", func(context.Context, string) ([]float32, error) { return nil, boom }, boom},
		{"empty vector", func(context.Context, string) ([]float32, error) { return nil, nil }, memory.ErrEmbed},
		{"zero vector", func(context.Context, string) ([]float32, error) { return make([]float32, 8), nil }, memory.ErrEmbed},
		{"NaN", func(context.Context, string) ([]float32, error) {
			v := make([]float32, 8)
			v[0] = float32(nan())
			return v, nil
		}, memory.ErrEmbed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			im := uvmtest.Mem(t, uvm.Options{})
			c := openCatalog(t, im, memory.Options{Embedder: memory.Embedder{Name: "bad", Embed: tt.embed}})
			before := uvmtest.Fingerprint(t, im)
			err := im.Update(ctx, func(tx *uvm.Tx) error { return c.Add(ctx, tx, animals[0]) })
			assert.ErrorIs(t, err, tt.want)
			assert.ErrorIs(t, err, memory.ErrEmbed)
			assert.Equal(t, before, uvmtest.Fingerprint(t, im), "a failed add changed the image")
		})
	}
}

func nan() float64 { return math.NaN() }

func TestNamespaces(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{})
	a := openCatalog(t, im, memory.Options{Namespace: "a"})
	b := openCatalog(t, im, memory.Options{Namespace: "b", Embedder: memory.OfflineEmbedder(64)})
	add(t, a, im, animals[0])
	add(t, b, im, animals[1])
	assert.Equal(t, []string{"cats"}, docIDs(search(t, a, "honey", 5, nil)), "catalog a")
	assert.Equal(t, []string{"bees"}, docIDs(search(t, b, "honey", 5, nil)), "catalog b")
}

// Concurrent adds, deletes and searches; run with -race.
func TestConcurrent(t *testing.T) {
	ctx := context.Background()
	im := uvmtest.Mem(t, uvm.Options{})
	c := openCatalog(t, im, memory.Options{})
	const writers, perWriter = 4, 15
	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter+8)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				id := fmt.Sprintf("w%d-%d", w, i)
				err := im.Update(ctx, func(tx *uvm.Tx) error {
					return c.Add(ctx, tx, memory.Document{ID: id, Kind: fmt.Sprintf("k%d", i%3),
						Text: fmt.Sprintf("Writer %d wrote note %d about topic %d.", w, i, i%5)})
				})
				if err != nil {
					errs <- err
				}
				if i%5 == 4 { // delete one of its own, keep the rest
					err := im.Update(ctx, func(tx *uvm.Tx) error { return c.Delete(ctx, tx, fmt.Sprintf("w%d-%d", w, i-1)) })
					if err != nil {
						errs <- err
					}
				}
			}
		}()
	}
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 40 {
				if _, err := c.Search(ctx, "writer note topic", 5, nil); err != nil {
					errs <- err
				}
				if _, err := c.Search(ctx, "topic 3", 3, map[string]string{"kind": "k1"}); err != nil {
					errs <- err
				}
				_ = c.Stats()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	want := writers * (perWriter - perWriter/5)
	s := c.Stats()
	assert.Equal(t, want, s.Documents, "documents")
	assert.Equal(t, want, s.Chunks, "chunks")
	// The index agrees with a rebuild from the image.
	c2 := openCatalog(t, im, memory.Options{})
	assert.Equal(t, fmt.Sprint(c.Stats()), fmt.Sprint(c2.Stats()), "the index differs from the image's")
	assert.Len(t, search(t, c, "writer note topic", 1000, nil), want, "results")
}

const twoTopics = `The volcano on the island erupted at dawn. Lava poured down the northern slope and reached the sea by noon. ` +
	`Ash from the eruption covered the villages under the crater. Geologists measured the magma chamber with seismic sensors. ` +
	`The crater glowed red through the night while the lava kept flowing into the water. ` +
	`Meanwhile, the bakery in town perfected its sourdough bread. The baker feeds the starter with rye flour every morning. ` +
	`Loaves rise slowly overnight in wicker baskets before baking in a wood oven. Customers queue for the crusty bread at seven. ` +
	`The baker sells croissants and rye loaves until the shelves are empty.`
