package memory_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/batos-dev/batos/memory"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/require"
)

func openCatalog(t testing.TB, im *uvm.Image, opts memory.Options) *memory.Catalog {
	t.Helper()
	c, err := memory.Open(context.Background(), im, opts)
	require.NoError(t, err, "memory.Open")
	return c
}

// counting wraps an embedder and counts the texts it is asked to embed.
type counting struct {
	inner memory.Embedder
	texts atomic.Int64
	mu    sync.Mutex
	seen  []string
}

func newCounting(inner memory.Embedder) *counting { return &counting{inner: inner} }

func (c *counting) embedder() memory.Embedder {
	e := c.inner
	inner := c.inner.Embed
	e.Embed = func(ctx context.Context, text string) ([]float32, error) {
		c.texts.Add(1)
		c.mu.Lock()
		c.seen = append(c.seen, text)
		c.mu.Unlock()
		return inner(ctx, text)
	}
	e.EmbedBatch = nil
	return e
}

func add(t testing.TB, c *memory.Catalog, im *uvm.Image, docs ...memory.Document) {
	t.Helper()
	uvmtest.Update(t, im, func(tx *uvm.Tx) error {
		for _, d := range docs {
			if err := c.Add(context.Background(), tx, d); err != nil {
				return err
			}
		}
		return nil
	})
}

func search(t testing.TB, c *memory.Catalog, q string, k int, filter map[string]string) []memory.Result {
	t.Helper()
	rs, err := c.Search(context.Background(), q, k, filter)
	require.NoError(t, err, "Search(%q)", q)
	return rs
}

func docIDs(rs []memory.Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.DocumentID)
	}
	return out
}

// countRecords counts the records of a namespace.
func countRecords(t testing.TB, im *uvm.Image, ns string) int {
	t.Helper()
	n := 0
	uvmtest.View(t, im, func(tx *uvm.Tx) error {
		return tx.ScanRecords(ns, "", func(string, []byte) error { n++; return nil })
	})
	return n
}

var errRollback = errors.New("test: roll back")

var animals = []memory.Document{
	{ID: "cats", Kind: "note", Source: "zoo", Text: "Cats are small carnivorous mammals that purr, hunt mice and sleep most of the day.", Metadata: map[string]string{"lang": "en"}},
	{ID: "bees", Kind: "note", Source: "zoo", Text: "Bees collect nectar from flowers, make honey and wax, and live in hives with a queen.", Metadata: map[string]string{"lang": "en"}},
	{ID: "ships", Kind: "log", Source: "port", Text: "Container ships carry cargo between harbours; cranes unload the containers at the port.", Metadata: map[string]string{"lang": "en"}},
	{ID: "volcano", Kind: "log", Source: "geo", Text: "A volcano erupts when magma rises through the crust and lava flows down its slopes.", Metadata: map[string]string{"lang": "fr"}},
}
