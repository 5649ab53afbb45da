package memory_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batos-dev/batos/memory"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/store/pgstore/pgtest"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The test binary's PostgreSQL server, started by the first test that
// needs one and stopped by TestMain.
var (
	pgOnce    sync.Once
	pgCluster *pgtest.Cluster
	pgErr     error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if pgCluster != nil {
		pgCluster.Stop()
	}
	os.Exit(code)
}

// sharedDB returns the URL of a new database on the test server, or
// skips without PostgreSQL.
func sharedDB(t testing.TB) string {
	t.Helper()
	pgOnce.Do(func() { pgCluster, pgErr = pgtest.Start() })
	if errors.Is(pgErr, pgtest.ErrNoServer) {
		t.Skip(pgtest.Hint)
	}
	require.NoError(t, pgErr)
	return pgCluster.NewDatabase(t)
}

// kernel opens the image at url as one more process would.
func kernel(t testing.TB, url string) *uvm.Image {
	t.Helper()
	im, err := uvm.Open(url, uvm.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, im.Close()) })
	require.True(t, im.Shared())
	return im
}

// chunkTexts returns the texts of every chunk of the catalog's documents.
func chunkTexts(t testing.TB, im *uvm.Image) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	uvmtest.View(t, im, func(tx *uvm.Tx) error {
		return tx.ScanRecords("memory.chunk", "", func(_ string, val []byte) error {
			i := bytes.Index(val, []byte(`"t":"`))
			require.GreaterOrEqual(t, i, 0)
			out[string(val[i+5:len(val)-2])] = true
			return nil
		})
	})
	return out
}

// TestSharedSearchSeesOtherKernels: two kernels (two images on one
// database), each with its own catalog. What one commits — a document
// added, changed or deleted, a skill indexed or removed — the other's
// next search sees, right after the commit returns, without embedding
// the texts the first one stored vectors for.
func TestSharedSearchSeesOtherKernels(t *testing.T) {
	url := sharedDB(t)
	ctx := context.Background()
	imA, imB := kernel(t, url), kernel(t, url)
	cntA, cntB := newCounting(memory.OfflineEmbedder(0)), newCounting(memory.OfflineEmbedder(0))
	a := openCatalog(t, imA, memory.Options{Embedder: cntA.embedder()})
	b := openCatalog(t, imB, memory.Options{Embedder: cntB.embedder()})

	add(t, a, imA, animals...)
	rs := search(t, b, "honey from flowers", 1, nil)
	require.NotEmpty(t, rs, "B sees A's documents")
	assert.Equal(t, "bees", rs[0].DocumentID)
	assert.Equal(t, a.Stats().Chunks, b.Stats().Chunks)

	changed := animals[0]
	changed.Text = "Cats now chase laser pointers across the kitchen floor at night."
	add(t, a, imA, changed)
	rs = search(t, b, "laser pointers kitchen", 1, nil)
	require.NotEmpty(t, rs)
	assert.Equal(t, "cats", rs[0].DocumentID)
	assert.Equal(t, changed.Text, rs[0].Text, "B sees the new text")

	uvmtest.Update(t, imA, func(tx *uvm.Tx) error { return a.Delete(ctx, tx, "bees") })
	assert.NotContains(t, docIDs(search(t, b, "honey from flowers", 10, nil)), "bees", "deleted in A, gone in B")

	skill := memory.Skill{OID: 7, Selector: "celsiusToFahrenheit", Version: 1, Intent: "convert a temperature"}
	uvmtest.Update(t, imA, func(tx *uvm.Tx) error { return a.IndexSkill(ctx, tx, skill) })
	ms, err := b.SearchSkills(ctx, "convert celsius temperature", 1)
	require.NoError(t, err)
	require.Len(t, ms, 1, "B finds the skill A indexed")
	assert.Equal(t, skill.Selector, ms[0].Selector)
	uvmtest.Update(t, imA, func(tx *uvm.Tx) error { return a.RemoveSkill(ctx, tx, 7, skill.Selector) })
	ms, err = b.SearchSkills(ctx, "convert celsius temperature", 1)
	require.NoError(t, err)
	assert.Empty(t, ms, "removed in A, gone in B")

	// B's own commits reach A the same way.
	add(t, b, imB, memory.Document{ID: "owl", Kind: "note", Text: "Owls hunt at night and turn their heads almost all the way round."})
	assert.Equal(t, []string{"owl"}, docIDs(search(t, a, "owls turning heads", 1, map[string]string{"kind": "note"})))

	stored := chunkTexts(t, imA)
	cntB.mu.Lock()
	defer cntB.mu.Unlock()
	for _, s := range cntB.seen {
		if s != "Owls hunt at night and turn their heads almost all the way round." {
			assert.False(t, stored[s], "B embedded %q, whose vector A stored", s)
		}
	}
}

// TestSharedSearchNeverStale: while a reader in the other kernel searches
// without pause (so that its refreshes race the commits), every document
// is found by the other kernel as soon as the commit that added it has
// returned.
func TestSharedSearchNeverStale(t *testing.T) {
	url := sharedDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	imA, imB := kernel(t, url), kernel(t, url)
	a := openCatalog(t, imA, memory.Options{})
	b := openCatalog(t, imB, memory.Options{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for range 2 {
		wg.Go(func() {
			for ctx.Err() == nil {
				_, err := b.Search(ctx, "anything at all", 1, nil)
				if ctx.Err() == nil {
					assert.NoError(t, err)
				}
			}
		})
	}
	for i := range 60 {
		id := fmt.Sprintf("note/%d", i)
		text := fmt.Sprintf("Entry number %d about the zebra%d that grazed alone.", i, i)
		add(t, a, imA, memory.Document{ID: id, Text: text})
		rs := search(t, b, fmt.Sprintf("zebra%d grazed", i), 1, nil)
		require.NotEmpty(t, rs, "commit %d", i)
		require.Equal(t, id, rs[0].DocumentID, "commit %d: B found another document", i)
	}
}

// TestSharedFollow: a catalog that follows the image learns another
// kernel's commits without being asked to search.
func TestSharedFollow(t *testing.T) {
	url := sharedDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	imA, imB := kernel(t, url), kernel(t, url)
	a := openCatalog(t, imA, memory.Options{})
	b := openCatalog(t, imB, memory.Options{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		assert.NoError(t, b.Follow(ctx))
	}()
	defer func() { cancel(); <-done }()
	add(t, a, imA, animals...)
	assert.Eventually(t, func() bool { return b.Stats().Documents == len(animals) }, 5*time.Second, 10*time.Millisecond,
		"B's index follows A's commit")
}

// TestSharedOpenConcurrently: kernels opening one new image at once all
// succeed, and the codex is seeded once: by one of them, while the others
// wait for it.
func TestSharedOpenConcurrently(t *testing.T) {
	ctx := context.Background()
	// One open alone: how many texts seeding embeds.
	alone := newCounting(memory.OfflineEmbedder(0))
	c := openCatalog(t, kernel(t, sharedDB(t)), memory.Options{Codex: memory.DefaultCodex(), Embedder: alone.embedder()})
	docs := c.Stats().Documents

	url := sharedDB(t)
	cnt := newCounting(memory.OfflineEmbedder(0))
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	const n = 4
	ims := make([]*uvm.Image, n)
	for i := range ims {
		ims[i] = kernel(t, url)
	}
	cats := make([]*memory.Catalog, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var err error
			cats[i], err = memory.Open(ctx, ims[i], memory.Options{Codex: memory.DefaultCodex(), Embedder: cnt.embedder(), Logger: log})
			assert.NoError(t, err, "open %d", i)
		})
	}
	wg.Wait()
	require.False(t, t.Failed())
	assert.Equal(t, 1, strings.Count(logs.String(), "memory: codex seeded"), "seedings:\n%s", logs.String())
	assert.Equal(t, alone.texts.Load(), cnt.texts.Load(), "texts embedded by four opens, want those of one")
	for i, c := range cats {
		assert.Equal(t, docs, c.Stats().Documents, "catalog %d's documents", i)
	}
}

// TestSharedReembedOnce: kernels opening a shared image at once with a new
// embedder (and Reembed) all succeed, and the image is re-embedded once;
// a kernel still on the old embedder learns of the switch at its next
// search.
func TestSharedReembedOnce(t *testing.T) {
	ctx := context.Background()
	url := sharedDB(t)
	im := kernel(t, url)
	old := openCatalog(t, im, memory.Options{})
	add(t, old, im, animals...)

	cnt := newCounting(memory.OfflineEmbedder(128))
	const n = 3
	ims := make([]*uvm.Image, n)
	for i := range ims {
		ims[i] = kernel(t, url)
	}
	cats := make([]*memory.Catalog, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var err error
			cats[i], err = memory.Open(ctx, ims[i], memory.Options{Embedder: cnt.embedder(), OnEmbedderChange: memory.Reembed})
			assert.NoError(t, err, "open %d", i)
		})
	}
	wg.Wait()
	require.False(t, t.Failed())
	assert.Equal(t, int64(len(animals)), cnt.texts.Load(), "texts embedded by three opens, want each once")
	for i, c := range cats {
		assert.Equal(t, 128, c.Stats().Dimensions, "catalog %d", i)
		assert.Equal(t, []string{"bees"}, docIDs(search(t, c, "nectar honey wax", 1, nil)), "catalog %d", i)
	}
	_, err := old.Search(ctx, "nectar honey wax", 1, nil)
	assert.ErrorIs(t, err, memory.ErrEmbedderMismatch, "the kernel on the old embedder")
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
