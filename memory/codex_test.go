package memory_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/batos-dev/batos/memory"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultCodex(t *testing.T) {
	codex := memory.DefaultCodex()
	lines := bytes.Count(codex, []byte("\n"))
	assert.GreaterOrEqual(t, lines, 60, "lines")
	entries, bad, err := memory.ParseCodex(bytes.NewReader(codex))
	require.NoError(t, err)
	require.Empty(t, bad, "bad lines")
	assert.Len(t, entries, lines, "one entry per line")
	personas := map[string]int{}
	topics := map[string]int{}
	all := strings.ToLower(string(codex))
	for _, e := range entries {
		personas[e.Persona]++
		topics[e.Topic]++
	}
	for _, p := range []string{"ALFRED", "BRICK", "ROBIN", "BABS"} {
		assert.GreaterOrEqual(t, personas[p], 5, "entries in which persona %s speaks", p)
	}
	for _, topic := range []string{"architecture", "covenant", "cycle", "guardian", "live", "image", "personas"} {
		assert.GreaterOrEqual(t, topics[topic], 3, "entries on topic %s", topic)
	}
	for _, word := range []string{"idle", "decomposing", "delegating", "synthesizing", "validating", "complete", "failed",
		"markchanged", "yaegi", "badger", "guardian", "orchestrat", "deconstruct", "philosoph", "research"} {
		assert.Contains(t, all, word, "the codex never mentions %q", word)
	}
	// DefaultCodex hands out a copy.
	codex[0] = 'X'
	assert.NotEqual(t, byte('X'), memory.DefaultCodex()[0], "DefaultCodex returned shared bytes")
	// Every entry is one chunk, so that a search result is a whole answer.
	im := uvmtest.Mem(t, uvm.Options{})
	c := openCatalog(t, im, memory.Options{Codex: memory.DefaultCodex()})
	s := c.Stats()
	assert.Equal(t, len(entries), s.Documents, "documents")
	assert.Equal(t, len(entries), s.Chunks, "chunks: want one per document")
	assert.Equal(t, len(entries), s.Kinds["codex"], "codex documents")
	rs := search(t, c, "BRICK", 3, map[string]string{"persona": "BRICK"})
	require.Len(t, rs, 3)
	assert.Equal(t, "BRICK", rs[0].Metadata["persona"])
	assert.NotEmpty(t, rs[0].Metadata["topic"], "want BRICK entries with a topic")
}

func TestSeedOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	im := uvmtest.Disk(t, dir, uvm.Options{NoSync: true})
	cnt := newCounting(memory.OfflineEmbedder(0))
	c := openCatalog(t, im, memory.Options{Codex: memory.DefaultCodex(), Embedder: cnt.embedder()})
	n := cnt.texts.Load()
	docs := c.Stats().Documents

	im = uvmtest.Reopen(t, im, dir, uvm.Options{NoSync: true})
	before := uvmtest.Fingerprint(t, im) // reopening may touch uvm's own bookkeeping, not memory's
	openCatalog(t, im, memory.Options{Codex: memory.DefaultCodex(), Embedder: cnt.embedder()})
	assert.Equal(t, n, cnt.texts.Load(), "second open embedded more texts, want none")
	assert.Equal(t, before, uvmtest.Fingerprint(t, im), "second open with the same codex changed the image")

	// A new version of the codex: one entry changed, one removed, one added.
	entries, _, _ := memory.ParseCodex(bytes.NewReader(memory.DefaultCodex()))
	entries[0].Response = "batos is a Go library; this answer was revised."
	entries = slices.Delete(entries, 1, 2)
	entries = append(entries, memory.CodexEntry{Prompt: "Is this a new question?", Response: "Yes, added in the second edition."})
	var b bytes.Buffer
	for _, e := range entries {
		fmt.Fprintf(&b, "{\"prompt\":%q,\"response\":%q}\n", e.Prompt, e.Response)
	}
	c = openCatalog(t, im, memory.Options{Codex: b.Bytes(), Embedder: cnt.embedder()})
	assert.Equal(t, docs, c.Stats().Documents, "documents (one changed, one removed, one added)")
	assert.Equal(t, int64(2), cnt.texts.Load()-n, "texts the new edition embedded")
	rs := search(t, c, "second edition new question", 1, nil)
	require.NotEmpty(t, rs)
	assert.Contains(t, rs[0].Text, "second edition", "want the added entry")
	for _, r := range search(t, c, "Which packages make up batos and how do they depend on each other", 5, nil) {
		assert.False(t, strings.HasPrefix(r.Text, "Which packages make up batos"), "removed entry still found: %q", r.Text)
	}

	t.Run("bad seed fails open", func(t *testing.T) {
		_, err := memory.Open(ctx, uvmtest.Mem(t, uvm.Options{}), memory.Options{Codex: []byte("{\"prompt\":\"x\"}\n")})
		assert.ErrorIs(t, err, memory.ErrBadCodex)
	})
}

const mixedCodex = `{"prompt": "What is one?", "response": "One is the first number."}

not json at all
{"prompt": "What is two?", "response": "Two follows one."}
{"prompt": "", "response": "no prompt"}
{"prompt": "What is three?"}
{"prompt": "Extra?", "response": "has a field", "colour": "blue"}
{"prompt": "Two values?", "response": "a"} {"prompt": "b"}
["prompt", "response"]
{"prompt": "What is four?", "response": "Four is two twos.", "persona": "BABS", "topic": "numbers"}
{"prompt": "bad utf-8 ` + "\xff" + `", "response": "x"}
{"prompt": "What is five?", "response": "Five is the last one."}`

func TestIngestCodex(t *testing.T) {
	ctx := context.Background()
	wantBad := []int{3, 5, 6, 7, 8, 9, 11}
	t.Run("strict: nothing added", func(t *testing.T) {
		im := uvmtest.Mem(t, uvm.Options{})
		c := openCatalog(t, im, memory.Options{})
		before := uvmtest.Fingerprint(t, im)
		var rep memory.IngestReport
		err := im.Update(ctx, func(tx *uvm.Tx) error {
			var err error
			rep, err = c.IngestCodex(ctx, tx, strings.NewReader(mixedCodex), memory.IngestOptions{Source: "numbers"})
			return err
		})
		var ce *memory.CodexError
		require.ErrorAs(t, err, &ce)
		require.ErrorIs(t, err, memory.ErrBadCodex)
		var lines []int
		for _, l := range ce.Lines {
			lines = append(lines, l.Line)
		}
		assert.Equal(t, wantBad, lines, "bad lines (%v)", ce)
		assert.Contains(t, err.Error(), "line 3:", "want the line number in the message")
		assert.Equal(t, "numbers", ce.Source)
		assert.Zero(t, rep.Added, "want nothing added")
		assert.Zero(t, c.Stats().Documents, "want nothing added")
		assert.Equal(t, before, uvmtest.Fingerprint(t, im), "want nothing added")
	})
	t.Run("skip: good lines added, bad ones reported", func(t *testing.T) {
		im := uvmtest.Mem(t, uvm.Options{})
		var logs bytes.Buffer
		c := openCatalog(t, im, memory.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		var rep memory.IngestReport
		err := im.Update(ctx, func(tx *uvm.Tx) error {
			var err error
			rep, err = c.IngestCodex(ctx, tx, strings.NewReader(mixedCodex), memory.IngestOptions{Source: "numbers", SkipBadLines: true})
			return err
		})
		require.NoError(t, err)
		var lines []int
		for _, l := range rep.Skipped {
			lines = append(lines, l.Line)
		}
		assert.Equal(t, wantBad, lines, "skipped lines")
		assert.Equal(t, 4, rep.Entries, "entries")
		assert.Equal(t, 4, rep.Added, "added")
		assert.Equal(t, "numbers", rep.Source)
		assert.Equal(t, len(wantBad), strings.Count(logs.String(), "codex line skipped"), "log lines about skipped lines:\n%s", logs.String())
		rs := search(t, c, "four", 1, map[string]string{"persona": "BABS", "topic": "numbers"})
		require.Len(t, rs, 1, "want the entry with its persona and topic")
		assert.Contains(t, rs[0].Text, "two twos")
		assert.Equal(t, "numbers", rs[0].Source)
		assert.Equal(t, "codex", rs[0].Kind)
		assert.True(t, strings.HasPrefix(rs[0].DocumentID, "numbers/"), "got ID %q, want it under the source", rs[0].DocumentID)

		// Again: nothing changes. With Replace and a shorter codex: the rest goes.
		err = im.Update(ctx, func(tx *uvm.Tx) error {
			var err error
			rep, err = c.IngestCodex(ctx, tx, strings.NewReader(mixedCodex), memory.IngestOptions{Source: "numbers", SkipBadLines: true})
			return err
		})
		assert.NoError(t, err, "again")
		assert.Zero(t, rep.Added, "again: added")
		assert.Equal(t, 4, rep.Unchanged, "again: unchanged")
		err = im.Update(ctx, func(tx *uvm.Tx) error {
			var err error
			rep, err = c.IngestCodex(ctx, tx, strings.NewReader(`{"prompt": "What is one?", "response": "One is the first number."}`),
				memory.IngestOptions{Source: "numbers", Replace: true})
			return err
		})
		assert.NoError(t, err, "replace")
		assert.Equal(t, 1, rep.Unchanged, "replace: unchanged")
		assert.Equal(t, 3, rep.Removed, "replace: removed")
		assert.Equal(t, 1, c.Stats().Documents, "replace: documents")
	})
	t.Run("read error fails even when skipping", func(t *testing.T) {
		im := uvmtest.Mem(t, uvm.Options{})
		c := openCatalog(t, im, memory.Options{})
		boom := errors.New("disk gone")
		r := io.MultiReader(strings.NewReader("{\"prompt\":\"a\",\"response\":\"b\"}\n"), &failReader{boom})
		err := im.Update(ctx, func(tx *uvm.Tx) error {
			_, err := c.IngestCodex(ctx, tx, r, memory.IngestOptions{SkipBadLines: true})
			return err
		})
		require.ErrorIs(t, err, boom)
		assert.Contains(t, err.Error(), "line 2", "want the read error at line 2")
		assert.Zero(t, c.Stats().Documents, "half a codex was ingested")
	})
	t.Run("long line", func(t *testing.T) {
		long := `{"prompt": "` + strings.Repeat("a", memory.MaxCodexLine) + `", "response": "b"}` + "\n" +
			`{"prompt": "short", "response": "fine"}`
		entries, bad, err := memory.ParseCodex(strings.NewReader(long))
		require.NoError(t, err)
		assert.Len(t, entries, 1)
		require.Len(t, bad, 1, "want line 1 refused as too long")
		assert.Equal(t, 1, bad[0].Line)
		assert.Contains(t, bad[0].Reason, "longer than")
	})
	t.Run("empty codex", func(t *testing.T) {
		entries, bad, err := memory.ParseCodex(strings.NewReader("\n\n  \n"))
		assert.NoError(t, err)
		assert.Empty(t, entries)
		assert.Empty(t, bad)
	})
}

type failReader struct{ err error }

func (f *failReader) Read([]byte) (int, error) { return 0, f.err }
