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
)

func TestSearch(t *testing.T) {
	im := memImage(t)
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
			if len(rs) != tt.count {
				t.Fatalf("got %d results %v, want %d", len(rs), docIDs(rs), tt.count)
			}
			if got := docIDs(rs); len(tt.want) > 0 && !slices.Equal(got[:len(tt.want)], tt.want) {
				t.Errorf("got %v, want prefix %v", got, tt.want)
			}
			for i := 1; i < len(rs); i++ {
				if rs[i].Similarity > rs[i-1].Similarity {
					t.Errorf("results not sorted: %v then %v", rs[i-1].Similarity, rs[i].Similarity)
				}
			}
			for _, r := range rs {
				for k, v := range tt.filter {
					if r.Metadata[k] != v {
						t.Errorf("result %s: metadata %s = %q, want %q", r.ID, k, r.Metadata[k], v)
					}
				}
			}
		})
	}

	t.Run("result fields", func(t *testing.T) {
		rs := search(t, c, "container cranes", 1, nil)
		r := rs[0]
		want := memory.Result{ID: "ships#0", DocumentID: "ships", Chunk: 0, Kind: "log", Source: "port", Text: animals[2].Text}
		if r.ID != want.ID || r.DocumentID != want.DocumentID || r.Chunk != want.Chunk || r.Kind != want.Kind ||
			r.Source != want.Source || r.Text != want.Text {
			t.Errorf("got %+v, want %+v", r, want)
		}
		wantMeta := map[string]string{"kind": "log", "source": "port", "document": "ships", "chunk": "0", "lang": "en"}
		if fmt.Sprint(r.Metadata) != fmt.Sprint(wantMeta) {
			t.Errorf("got metadata %v, want %v", r.Metadata, wantMeta)
		}
		if r.Similarity <= 0 || r.Similarity > 1.0001 {
			t.Errorf("got similarity %v, want in (0, 1]", r.Similarity)
		}
		// The metadata is the caller's: changing it does not change the index.
		r.Metadata["lang"] = "xx"
		if again := search(t, c, "container cranes", 1, nil); again[0].Metadata["lang"] != "en" {
			t.Errorf("got lang %q after changing a result, want en", again[0].Metadata["lang"])
		}
	})

	t.Run("stats", func(t *testing.T) {
		s := c.Stats()
		if s.Documents != 4 || s.Chunks != 4 || s.Dimensions != 384 || s.Embedder != "batos-hash-v1/384" ||
			s.Kinds["note"] != 2 || s.Kinds["log"] != 2 {
			t.Errorf("got %+v", s)
		}
	})
}

func TestSearchEmptyCatalog(t *testing.T) {
	im := memImage(t)
	cnt := newCounting(memory.OfflineEmbedder(0))
	c := openCatalog(t, im, memory.Options{Embedder: cnt.embedder()})
	rs, err := c.Search(context.Background(), "anything at all", 5, nil)
	if err != nil || rs != nil {
		t.Fatalf("got %v, %v; want no results and no error", rs, err)
	}
	if n := cnt.texts.Load(); n != 0 {
		t.Errorf("embedder called %d times for an empty catalog, want 0", n)
	}
}

func TestSearchBadInput(t *testing.T) {
	im := memImage(t)
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
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestAddBadInput(t *testing.T) {
	ctx := context.Background()
	im := memImage(t)
	c := openCatalog(t, im, memory.Options{})
	other := memImage(t)
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
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("read-only transaction", func(t *testing.T) {
		err := im.View(ctx, func(tx *uvm.Tx) error { return c.Add(ctx, tx, animals[0]) })
		if !errors.Is(err, uvm.ErrReadOnly) {
			t.Errorf("got %v, want %v", err, uvm.ErrReadOnly)
		}
	})
	t.Run("transaction of another image", func(t *testing.T) {
		err := other.Update(ctx, func(tx *uvm.Tx) error { return c.Add(ctx, tx, animals[0]) })
		if !errors.Is(err, memory.ErrWrongImage) {
			t.Errorf("got %v, want %v", err, memory.ErrWrongImage)
		}
	})
	if s := c.Stats(); s.Documents != 0 {
		t.Errorf("got %d documents after only bad adds, want 0", s.Documents)
	}
}

func TestOpenBadOptions(t *testing.T) {
	im := memImage(t)
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
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := memory.Open(context.Background(), nil, memory.Options{}); err == nil {
		t.Error("Open(nil image): got nil error")
	}
}

// TestRollback is the evidence: what is learnt inside a failed
// transaction is found nowhere afterwards, neither in the index nor in the
// image, also after reopening.
func TestRollback(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	im, err := uvm.Open(dir, uvm.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	c := openCatalog(t, im, memory.Options{})
	add(t, c, im, animals[0]) // something committed, which must survive
	before := fingerprint(t, im)

	secret := memory.Document{ID: "secret", Kind: "note", Text: "The treasure is buried under the old lighthouse on Zanzibar."}
	replaced := memory.Document{ID: "cats", Kind: "note", Text: "Cats were replaced by something about lighthouses on Zanzibar."}
	err = im.Update(ctx, func(tx *uvm.Tx) error {
		if err := c.Add(ctx, tx, secret); err != nil {
			return err
		}
		if err := c.Add(ctx, tx, replaced); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("got %v, want the rollback error", err)
	}

	check := func(t *testing.T, c *memory.Catalog, im *uvm.Image) {
		t.Helper()
		rs := search(t, c, "treasure buried lighthouse Zanzibar", 10, nil)
		if got := docIDs(rs); !slices.Equal(got, []string{"cats"}) {
			t.Fatalf("got %v, want only the committed document [cats]", got)
		}
		if rs[0].Text != animals[0].Text {
			t.Errorf("got text %q, want the committed one", rs[0].Text)
		}
		if fp := fingerprint(t, im); fp != before {
			t.Errorf("image changed by a rolled-back transaction")
		}
		if s := c.Stats(); s.Documents != 1 || s.Chunks != 1 {
			t.Errorf("got %+v, want 1 document and 1 chunk", s)
		}
	}
	t.Run("after the failed transaction", func(t *testing.T) { check(t, c, im) })

	if err := im.Close(); err != nil {
		t.Fatal(err)
	}
	im2, err := uvm.Open(dir, uvm.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer im2.Close()
	c2 := openCatalog(t, im2, memory.Options{})
	before = fingerprint(t, im2) // reopening may touch uvm's own bookkeeping, not memory's
	t.Run("after reopening", func(t *testing.T) { check(t, c2, im2) })
}

// A transaction that Update retries after a conflict runs its function
// again; the index must learn the document once, from the attempt that
// committed.
func TestConflictRetry(t *testing.T) {
	ctx := context.Background()
	im := memImage(t)
	cnt := newCounting(memory.OfflineEmbedder(0))
	c := openCatalog(t, im, memory.Options{Embedder: cnt.embedder()})
	var oid uvm.OID
	if err := im.Update(ctx, func(tx *uvm.Tx) error {
		o, err := tx.New()
		oid = o.OID()
		return err
	}); err != nil {
		t.Fatal(err)
	}
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
	if err != nil {
		t.Fatal(err)
	}
	if attempts < 2 {
		t.Fatalf("got %d attempts, want a retry", attempts)
	}
	if n := cnt.texts.Load(); n != 1 {
		t.Errorf("embedder asked %d times over %d attempts, want 1 (the cache)", n, attempts)
	}
	if s := c.Stats(); s.Documents != 1 || s.Chunks != 1 {
		t.Errorf("got %+v, want 1 document", s)
	}
	if got := docIDs(search(t, c, "honey", 5, nil)); !slices.Equal(got, []string{"bees"}) {
		t.Errorf("got %v, want [bees]", got)
	}
}

func TestNothingEmbeddedTwice(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	im, err := uvm.Open(dir, uvm.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	cnt := newCounting(memory.OfflineEmbedder(0))
	c := openCatalog(t, im, memory.Options{Embedder: cnt.embedder(), CacheSize: -1})

	add(t, c, im, animals[0])
	if n := cnt.texts.Load(); n != 1 {
		t.Fatalf("first add: embedder asked for %d texts, want 1", n)
	}
	add(t, c, im, animals[0])
	if n := cnt.texts.Load(); n != 1 {
		t.Errorf("same document again: embedder asked for %d texts, want still 1", n)
	}
	twin := memory.Document{ID: "cats-twin", Kind: "other", Text: animals[0].Text}
	add(t, c, im, twin)
	if n := cnt.texts.Load(); n != 1 {
		t.Errorf("same text in another document: embedder asked for %d texts, want still 1", n)
	}
	if got := countRecords(t, im, "memory.vec"); got != 1 {
		t.Errorf("got %d vector records for one distinct text, want 1", got)
	}
	// Without the cache, a rolled-back add embeds, and the next one embeds again.
	doc := memory.Document{ID: "new", Text: "Owls hunt at night and see in the dark."}
	_ = im.Update(ctx, func(tx *uvm.Tx) error {
		if err := c.Add(ctx, tx, doc); err != nil {
			return err
		}
		return errRollback
	})
	add(t, c, im, doc)
	if n := cnt.texts.Load(); n != 3 {
		t.Errorf("rolled back then committed without a cache: embedder asked for %d texts, want 3", n)
	}

	// After reopening, the vectors come from the image.
	im.Close()
	im2, err := uvm.Open(dir, uvm.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer im2.Close()
	cnt2 := newCounting(memory.OfflineEmbedder(0))
	c2 := openCatalog(t, im2, memory.Options{Embedder: cnt2.embedder()})
	add(t, c2, im2, animals[0], memory.Document{ID: "cats-3", Text: animals[0].Text}, doc)
	if n := cnt2.texts.Load(); n != 0 {
		t.Errorf("after reopening: embedder asked for %d texts (%q), want 0", n, cnt2.seen)
	}
}

func TestReplaceAndDelete(t *testing.T) {
	ctx := context.Background()
	im := memImage(t)
	c := openCatalog(t, im, memory.Options{})
	add(t, c, im, animals...)
	vecs := countRecords(t, im, "memory.vec")

	add(t, c, im, memory.Document{ID: "bees", Kind: "note", Text: "Wasps build paper nests and sting when disturbed."})
	for _, r := range search(t, c, "nectar honey wax queen hive", 10, nil) {
		if r.Text == animals[1].Text {
			t.Errorf("old text of a replaced document still found: %+v", r)
		}
	}
	rs := search(t, c, "paper nests sting", 1, nil)
	if rs[0].DocumentID != "bees" || rs[0].Text != "Wasps build paper nests and sting when disturbed." {
		t.Errorf("got %+v, want the new text of bees", rs[0])
	}
	if got := countRecords(t, im, "memory.vec"); got != vecs {
		t.Errorf("got %d vectors after replacing one document, want %d (old one dropped, new one added)", got, vecs)
	}
	if s := c.Stats(); s.Documents != 4 || s.Chunks != 4 {
		t.Errorf("got %+v, want 4 documents", s)
	}

	err := im.Update(ctx, func(tx *uvm.Tx) error {
		if err := c.Delete(ctx, tx, "bees"); err != nil {
			return err
		}
		return c.Delete(ctx, tx, "never-was")
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := docIDs(search(t, c, "paper nests sting", 10, nil)); slices.Contains(got, "bees") {
		t.Errorf("deleted document still found: %v", got)
	}
	if got := countRecords(t, im, "memory.vec"); got != vecs-1 {
		t.Errorf("got %d vectors after a delete, want %d", got, vecs-1)
	}
	if got := countRecords(t, im, "memory.chunk"); got != 3 {
		t.Errorf("got %d chunk records, want 3", got)
	}
	if got := countRecords(t, im, "memory.ref"); got != 3 {
		t.Errorf("got %d ref records, want 3", got)
	}

	// Deleted, then added again: the index must take it back.
	add(t, c, im, animals[1])
	if got := docIDs(search(t, c, "nectar honey wax", 1, nil)); !slices.Equal(got, []string{"bees"}) {
		t.Errorf("re-added document: got %v, want [bees]", got)
	}

	// A vector shared by two chunks survives the delete of one of them.
	add(t, c, im, memory.Document{ID: "cats-copy", Text: animals[0].Text})
	if err := im.Update(ctx, func(tx *uvm.Tx) error { return c.Delete(ctx, tx, "cats") }); err != nil {
		t.Fatal(err)
	}
	if got := docIDs(search(t, c, "purr mice", 1, nil)); !slices.Equal(got, []string{"cats-copy"}) {
		t.Errorf("got %v, want [cats-copy]", got)
	}
	c2 := openCatalog(t, im, memory.Options{}) // rebuild finds every vector it needs
	if s := c2.Stats(); s.Documents != 4 {
		t.Errorf("after rebuild: got %+v, want 4 documents", s)
	}
}

func TestReopenRebuild(t *testing.T) {
	dir := t.TempDir()
	im, err := uvm.Open(dir, uvm.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	c := openCatalog(t, im, memory.Options{})
	long := memory.Document{ID: "long", Kind: "essay", Text: twoTopics}
	add(t, c, im, append(slices.Clone(animals), long)...)
	wantStats := c.Stats()
	wantRes := search(t, c, "volcano lava", 3, nil)
	im.Close()

	im2, err := uvm.Open(dir, uvm.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer im2.Close()
	c2 := openCatalog(t, im2, memory.Options{})
	if got := c2.Stats(); fmt.Sprint(got) != fmt.Sprint(wantStats) {
		t.Errorf("got stats %+v, want %+v", got, wantStats)
	}
	if wantStats.Kinds["essay"] < 2 {
		t.Errorf("the long document was not split: %+v", wantStats)
	}
	gotRes := search(t, c2, "volcano lava", 3, nil)
	if fmt.Sprint(gotRes) != fmt.Sprint(wantRes) {
		t.Errorf("got %v, want %v", gotRes, wantRes)
	}
}

func TestEmbedderChange(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	im, err := uvm.Open(dir, uvm.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	c := openCatalog(t, im, memory.Options{})
	add(t, c, im, animals...)
	add(t, c, im, memory.Document{ID: "cats-copy", Text: animals[0].Text})
	before := fingerprint(t, im)

	t.Run("fails by default", func(t *testing.T) {
		_, err := memory.Open(ctx, im, memory.Options{Embedder: memory.OfflineEmbedder(128)})
		var me *memory.EmbedderMismatchError
		if !errors.As(err, &me) || !errors.Is(err, memory.ErrEmbedderMismatch) {
			t.Fatalf("got %v, want an *EmbedderMismatchError", err)
		}
		if me.Stored != "batos-hash-v1/384" || me.StoredDims != 384 || me.Requested != "batos-hash-v1/128" || me.RequestedDims != 128 {
			t.Errorf("got %+v", me)
		}
		if fp := fingerprint(t, im); fp != before {
			t.Error("a refused open changed the image")
		}
	})
	t.Run("same name, other dimension", func(t *testing.T) {
		e := memory.OfflineEmbedder(128)
		e.Name = "batos-hash-v1/384"
		_, err := memory.Open(ctx, im, memory.Options{Embedder: e, OnEmbedderChange: memory.Reembed})
		if !errors.Is(err, memory.ErrEmbedderMismatch) {
			t.Fatalf("got %v, want ErrEmbedderMismatch even with Reembed", err)
		}
	})
	t.Run("old catalog refuses writes after a switch", func(t *testing.T) {
		cnt := newCounting(memory.OfflineEmbedder(128))
		c128, err := memory.Open(ctx, im, memory.Options{Embedder: cnt.embedder(), OnEmbedderChange: memory.Reembed})
		if err != nil {
			t.Fatal(err)
		}
		if n := cnt.texts.Load(); n != 4 {
			t.Errorf("re-embedding asked for %d texts, want 4 (five chunks, four distinct texts)", n)
		}
		s := c128.Stats()
		if s.Dimensions != 128 || s.Documents != 5 || s.Embedder != "batos-hash-v1/128" {
			t.Errorf("got %+v", s)
		}
		if got := docIDs(search(t, c128, "nectar honey wax", 1, nil)); !slices.Equal(got, []string{"bees"}) {
			t.Errorf("got %v, want [bees]", got)
		}
		if got := countRecords(t, im, "memory.vec"); got != 4 {
			t.Errorf("got %d vector records, want 4 (the old ones deleted)", got)
		}
		err = im.Update(ctx, func(tx *uvm.Tx) error { return c.Add(ctx, tx, memory.Document{ID: "x", Text: "late"}) })
		if !errors.Is(err, memory.ErrEmbedderMismatch) {
			t.Errorf("old catalog: got %v, want ErrEmbedderMismatch", err)
		}
		// And back again, with nothing embedded twice for texts that still have vectors? The
		// 384 vectors were deleted, so they are embedded again: four texts.
		cnt384 := newCounting(memory.OfflineEmbedder(0))
		c384 := openCatalog(t, im, memory.Options{Embedder: cnt384.embedder(), OnEmbedderChange: memory.Reembed})
		if n := cnt384.texts.Load(); n != 4 {
			t.Errorf("switching back asked for %d texts, want 4", n)
		}
		if s := c384.Stats(); s.Dimensions != 384 || s.Documents != 5 {
			t.Errorf("got %+v", s)
		}
	})
}

func TestDimensionMismatch(t *testing.T) {
	ctx := context.Background()
	im := memImage(t)
	off := memory.OfflineEmbedder(16)
	liar := memory.Embedder{Name: "liar", Dimensions: 32, Embed: off.Embed}
	c := openCatalog(t, im, memory.Options{Embedder: liar})
	err := im.Update(ctx, func(tx *uvm.Tx) error { return c.Add(ctx, tx, animals[0]) })
	var de *memory.DimensionError
	if !errors.As(err, &de) || de.Want != 32 || de.Got != 16 {
		t.Fatalf("got %v, want a DimensionError 32/16", err)
	}

	// An embedder that changes its mind between texts.
	n := 0
	fickle := memory.Embedder{Name: "fickle", Embed: func(ctx context.Context, text string) ([]float32, error) {
		n++
		v := make([]float32, 4+n%2)
		v[0] = 1
		return v, nil
	}}
	im2 := memImage(t)
	c2 := openCatalog(t, im2, memory.Options{Embedder: fickle})
	add(t, c2, im2, animals[0]) // learns 5 dimensions
	err = im2.Update(ctx, func(tx *uvm.Tx) error { return c2.Add(ctx, tx, animals[1]) })
	if !errors.As(err, &de) || de.Want != 5 || de.Got != 4 {
		t.Errorf("got %v, want a DimensionError 5/4", err)
	}
	if s := c2.Stats(); s.Dimensions != 5 || s.Documents != 1 {
		t.Errorf("got %+v, want 1 document of 5 dimensions", s)
	}
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
			im := memImage(t)
			c := openCatalog(t, im, memory.Options{Embedder: memory.Embedder{Name: "bad", Embed: tt.embed}})
			before := fingerprint(t, im)
			err := im.Update(ctx, func(tx *uvm.Tx) error { return c.Add(ctx, tx, animals[0]) })
			if !errors.Is(err, tt.want) || !errors.Is(err, memory.ErrEmbed) {
				t.Errorf("got %v, want %v wrapped in ErrEmbed", err, tt.want)
			}
			if fingerprint(t, im) != before {
				t.Error("a failed add changed the image")
			}
		})
	}
}

func nan() float64 { return math.NaN() }

func TestNamespaces(t *testing.T) {
	im := memImage(t)
	a := openCatalog(t, im, memory.Options{Namespace: "a"})
	b := openCatalog(t, im, memory.Options{Namespace: "b", Embedder: memory.OfflineEmbedder(64)})
	add(t, a, im, animals[0])
	add(t, b, im, animals[1])
	if got := docIDs(search(t, a, "honey", 5, nil)); !slices.Equal(got, []string{"cats"}) {
		t.Errorf("catalog a: got %v, want [cats]", got)
	}
	if got := docIDs(search(t, b, "honey", 5, nil)); !slices.Equal(got, []string{"bees"}) {
		t.Errorf("catalog b: got %v, want [bees]", got)
	}
}

// Concurrent adds, deletes and searches; run with -race.
func TestConcurrent(t *testing.T) {
	ctx := context.Background()
	im := memImage(t)
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
		t.Error(err)
	}
	want := writers * (perWriter - perWriter/5)
	if s := c.Stats(); s.Documents != want || s.Chunks != want {
		t.Errorf("got %+v, want %d documents", s, want)
	}
	// The index agrees with a rebuild from the image.
	c2 := openCatalog(t, im, memory.Options{})
	if fmt.Sprint(c2.Stats()) != fmt.Sprint(c.Stats()) {
		t.Errorf("index %+v differs from the image's %+v", c.Stats(), c2.Stats())
	}
	rs := search(t, c, "writer note topic", 1000, nil)
	if len(rs) != want {
		t.Errorf("got %d results, want %d", len(rs), want)
	}
}

const twoTopics = `The volcano on the island erupted at dawn. Lava poured down the northern slope and reached the sea by noon. ` +
	`Ash from the eruption covered the villages under the crater. Geologists measured the magma chamber with seismic sensors. ` +
	`The crater glowed red through the night while the lava kept flowing into the water. ` +
	`Meanwhile, the bakery in town perfected its sourdough bread. The baker feeds the starter with rye flour every morning. ` +
	`Loaves rise slowly overnight in wicker baskets before baking in a wood oven. Customers queue for the crusty bread at seven. ` +
	`The baker sells croissants and rye loaves until the shelves are empty.`
