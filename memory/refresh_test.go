package memory_test

import (
	"context"
	"testing"

	"github.com/batos-dev/batos/memory"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRefresh: on an image only this process opens (Badger), a second
// catalog of the same namespace learns the first one's commits by
// Refresh — documents added, changed, deleted, and records gone from the
// image — without embedding what the image holds vectors for; a Refresh
// with nothing changed leaves the index as it was.
func TestRefresh(t *testing.T) {
	ctx := context.Background()
	im := uvmtest.Mem(t, uvm.Options{})
	require.False(t, im.Shared())
	a := openCatalog(t, im, memory.Options{})
	cnt := newCounting(memory.OfflineEmbedder(0))
	b := openCatalog(t, im, memory.Options{Embedder: cnt.embedder()})
	refresh := func() {
		t.Helper()
		before := cnt.texts.Load()
		require.NoError(t, b.Refresh(ctx))
		assert.Equal(t, before, cnt.texts.Load(), "Refresh called the embedder")
	}

	add(t, a, im, animals...)
	assert.Empty(t, search(t, b, "honey from flowers", 1, nil), "not shared: B learns A's commits by Refresh")
	refresh()
	assert.Equal(t, a.Stats(), b.Stats())
	assert.Equal(t, "bees", search(t, b, "honey from flowers", 1, nil)[0].DocumentID)

	stats, found := b.Stats(), search(t, b, "cargo ships in the harbour", 4, nil)
	refresh()
	assert.Equal(t, stats, b.Stats(), "nothing changed")
	assert.Equal(t, found, search(t, b, "cargo ships in the harbour", 4, nil), "nothing changed")

	changed := animals[0]
	changed.Text = "Cats now chase laser pointers across the kitchen floor at night."
	add(t, a, im, changed)
	uvmtest.Update(t, im, func(tx *uvm.Tx) error { return a.Delete(ctx, tx, "bees") })
	refresh()
	rs := search(t, b, "laser pointers kitchen", 1, nil)
	assert.Equal(t, changed.Text, rs[0].Text)
	assert.NotContains(t, docIDs(search(t, b, "honey from flowers", 10, nil)), "bees")
	assert.Equal(t, a.Stats(), b.Stats())

	// A document whose records left the image behind the catalog's back.
	uvmtest.Update(t, im, func(tx *uvm.Tx) error {
		var keys []string
		if err := tx.RecordKeys("memory.chunk", "ships\x00", func(k string) error { keys = append(keys, k); return nil }); err != nil {
			return err
		}
		for _, k := range keys {
			if err := tx.DeleteRecord("memory.chunk", k); err != nil {
				return err
			}
		}
		return tx.DeleteRecord("memory.doc", "ships")
	})
	refresh()
	assert.NotContains(t, docIDs(search(t, b, "cargo ships in the harbour", 10, nil)), "ships")
	assert.Equal(t, 2, b.Stats().Documents)

	for _, s := range cnt.seen {
		assert.NotContains(t, []string{animals[1].Text, animals[2].Text, animals[3].Text, changed.Text}, s,
			"B embedded a document's text")
	}
}
