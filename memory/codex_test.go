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
)

func TestDefaultCodex(t *testing.T) {
	codex := memory.DefaultCodex()
	lines := bytes.Count(codex, []byte("\n"))
	if lines < 60 {
		t.Errorf("got %d lines, want at least 60", lines)
	}
	entries, bad, err := memory.ParseCodex(bytes.NewReader(codex))
	if err != nil || len(bad) > 0 {
		t.Fatalf("got error %v, bad lines %v", err, bad)
	}
	if len(entries) != lines {
		t.Errorf("got %d entries for %d lines", len(entries), lines)
	}
	personas := map[string]int{}
	topics := map[string]int{}
	all := strings.ToLower(string(codex))
	for _, e := range entries {
		personas[e.Persona]++
		topics[e.Topic]++
	}
	for _, p := range []string{"ALFRED", "BRICK", "ROBIN", "BABS"} {
		if personas[p] < 5 {
			t.Errorf("persona %s speaks in %d entries, want at least 5", p, personas[p])
		}
	}
	for _, topic := range []string{"architecture", "covenant", "cycle", "guardian", "live", "image", "personas"} {
		if topics[topic] < 3 {
			t.Errorf("topic %s has %d entries, want at least 3", topic, topics[topic])
		}
	}
	for _, word := range []string{"idle", "decomposing", "delegating", "synthesizing", "validating", "complete", "failed",
		"markchanged", "yaegi", "badger", "guardian", "orchestrat", "deconstruct", "philosoph", "research"} {
		if !strings.Contains(all, word) {
			t.Errorf("the codex never mentions %q", word)
		}
	}
	// DefaultCodex hands out a copy.
	codex[0] = 'X'
	if memory.DefaultCodex()[0] == 'X' {
		t.Error("DefaultCodex returned shared bytes")
	}
	// Every entry is one chunk, so that a search result is a whole answer.
	im := memImage(t)
	c := openCatalog(t, im, memory.Options{Codex: memory.DefaultCodex()})
	if s := c.Stats(); s.Documents != len(entries) || s.Chunks != len(entries) || s.Kinds["codex"] != len(entries) {
		t.Errorf("got %+v, want %d documents of one chunk each", s, len(entries))
	}
	rs := search(t, c, "BRICK", 3, map[string]string{"persona": "BRICK"})
	if len(rs) != 3 || rs[0].Metadata["persona"] != "BRICK" || rs[0].Metadata["topic"] == "" {
		t.Errorf("got %+v, want BRICK entries with a topic", rs)
	}
}

func TestSeedOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	im, err := uvm.Open(dir, uvm.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	cnt := newCounting(memory.OfflineEmbedder(0))
	c := openCatalog(t, im, memory.Options{Codex: memory.DefaultCodex(), Embedder: cnt.embedder()})
	n := cnt.texts.Load()
	docs := c.Stats().Documents
	before := fingerprint(t, im)
	im.Close()

	im, err = uvm.Open(dir, uvm.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	before2 := fingerprint(t, im)
	c = openCatalog(t, im, memory.Options{Codex: memory.DefaultCodex(), Embedder: cnt.embedder()})
	if got := cnt.texts.Load(); got != n {
		t.Errorf("second open embedded %d more texts, want 0", got-n)
	}
	if fingerprint(t, im) != before2 {
		t.Error("second open with the same codex changed the image")
	}
	_ = before

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
	if got := c.Stats().Documents; got != docs {
		t.Errorf("got %d documents, want %d (one changed, one removed, one added)", got, docs)
	}
	if got := cnt.texts.Load() - n; got != 2 {
		t.Errorf("new edition embedded %d texts, want 2", got)
	}
	rs := search(t, c, "second edition new question", 1, nil)
	if !strings.Contains(rs[0].Text, "second edition") {
		t.Errorf("got %q, want the added entry", rs[0].Text)
	}
	for _, r := range search(t, c, "Which packages make up batos and how do they depend on each other", 5, nil) {
		if strings.HasPrefix(r.Text, "Which packages make up batos") {
			t.Errorf("removed entry still found: %q", r.Text)
		}
	}

	t.Run("bad seed fails open", func(t *testing.T) {
		_, err := memory.Open(ctx, memImage(t), memory.Options{Codex: []byte("{\"prompt\":\"x\"}\n")})
		if !errors.Is(err, memory.ErrBadCodex) {
			t.Errorf("got %v, want ErrBadCodex", err)
		}
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
		im := memImage(t)
		c := openCatalog(t, im, memory.Options{})
		before := fingerprint(t, im)
		var rep memory.IngestReport
		err := im.Update(ctx, func(tx *uvm.Tx) error {
			var err error
			rep, err = c.IngestCodex(ctx, tx, strings.NewReader(mixedCodex), memory.IngestOptions{Source: "numbers"})
			return err
		})
		var ce *memory.CodexError
		if !errors.As(err, &ce) || !errors.Is(err, memory.ErrBadCodex) {
			t.Fatalf("got %v, want a *CodexError", err)
		}
		var lines []int
		for _, l := range ce.Lines {
			lines = append(lines, l.Line)
		}
		if !slices.Equal(lines, wantBad) {
			t.Errorf("got bad lines %v, want %v (%v)", lines, wantBad, ce)
		}
		if !strings.Contains(err.Error(), "line 3:") || ce.Source != "numbers" {
			t.Errorf("got %q, want the line number and source in the message", err)
		}
		if rep.Added != 0 || c.Stats().Documents != 0 || fingerprint(t, im) != before {
			t.Errorf("got %+v and %d documents, want nothing added", rep, c.Stats().Documents)
		}
	})
	t.Run("skip: good lines added, bad ones reported", func(t *testing.T) {
		im := memImage(t)
		var logs bytes.Buffer
		c := openCatalog(t, im, memory.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		var rep memory.IngestReport
		err := im.Update(ctx, func(tx *uvm.Tx) error {
			var err error
			rep, err = c.IngestCodex(ctx, tx, strings.NewReader(mixedCodex), memory.IngestOptions{Source: "numbers", SkipBadLines: true})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var lines []int
		for _, l := range rep.Skipped {
			lines = append(lines, l.Line)
		}
		if !slices.Equal(lines, wantBad) || rep.Entries != 4 || rep.Added != 4 || rep.Source != "numbers" {
			t.Errorf("got %+v, want 4 added and lines %v skipped", rep, wantBad)
		}
		if got := strings.Count(logs.String(), "codex line skipped"); got != len(wantBad) {
			t.Errorf("got %d log lines about skipped lines, want %d:\n%s", got, len(wantBad), logs.String())
		}
		rs := search(t, c, "four", 1, map[string]string{"persona": "BABS", "topic": "numbers"})
		if len(rs) != 1 || !strings.Contains(rs[0].Text, "two twos") || rs[0].Source != "numbers" || rs[0].Kind != "codex" {
			t.Errorf("got %+v, want the entry with its persona and topic", rs)
		}
		if !strings.HasPrefix(rs[0].DocumentID, "numbers/") {
			t.Errorf("got ID %q, want it under the source", rs[0].DocumentID)
		}

		// Again: nothing changes. With Replace and a shorter codex: the rest goes.
		err = im.Update(ctx, func(tx *uvm.Tx) error {
			var err error
			rep, err = c.IngestCodex(ctx, tx, strings.NewReader(mixedCodex), memory.IngestOptions{Source: "numbers", SkipBadLines: true})
			return err
		})
		if err != nil || rep.Added != 0 || rep.Unchanged != 4 {
			t.Errorf("again: got %+v, %v; want 4 unchanged", rep, err)
		}
		err = im.Update(ctx, func(tx *uvm.Tx) error {
			var err error
			rep, err = c.IngestCodex(ctx, tx, strings.NewReader(`{"prompt": "What is one?", "response": "One is the first number."}`),
				memory.IngestOptions{Source: "numbers", Replace: true})
			return err
		})
		if err != nil || rep.Unchanged != 1 || rep.Removed != 3 || c.Stats().Documents != 1 {
			t.Errorf("replace: got %+v, %v, %d documents; want 1 unchanged, 3 removed", rep, err, c.Stats().Documents)
		}
	})
	t.Run("read error fails even when skipping", func(t *testing.T) {
		im := memImage(t)
		c := openCatalog(t, im, memory.Options{})
		boom := errors.New("disk gone")
		r := io.MultiReader(strings.NewReader("{\"prompt\":\"a\",\"response\":\"b\"}\n"), &failReader{boom})
		err := im.Update(ctx, func(tx *uvm.Tx) error {
			_, err := c.IngestCodex(ctx, tx, r, memory.IngestOptions{SkipBadLines: true})
			return err
		})
		if !errors.Is(err, boom) || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("got %v, want the read error at line 2", err)
		}
		if c.Stats().Documents != 0 {
			t.Error("half a codex was ingested")
		}
	})
	t.Run("long line", func(t *testing.T) {
		long := `{"prompt": "` + strings.Repeat("a", memory.MaxCodexLine) + `", "response": "b"}` + "\n" +
			`{"prompt": "short", "response": "fine"}`
		entries, bad, err := memory.ParseCodex(strings.NewReader(long))
		if err != nil || len(entries) != 1 || len(bad) != 1 || bad[0].Line != 1 || !strings.Contains(bad[0].Reason, "longer than") {
			t.Errorf("got %d entries, bad %v, err %v; want line 1 refused as too long", len(entries), bad, err)
		}
	})
	t.Run("empty codex", func(t *testing.T) {
		entries, bad, err := memory.ParseCodex(strings.NewReader("\n\n  \n"))
		if err != nil || len(entries) != 0 || len(bad) != 0 {
			t.Errorf("got %v %v %v, want nothing", entries, bad, err)
		}
	})
}

type failReader struct{ err error }

func (f *failReader) Read([]byte) (int, error) { return 0, f.err }
