package memory_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/batos-dev/batos/memory"
	"github.com/batos-dev/batos/uvm"
)

// Open a catalog seeded with the project's codex and ask it a question.
func ExampleOpen() {
	ctx := context.Background()
	im, err := uvm.Open("", uvm.Options{InMemory: true})
	if err != nil {
		panic(err)
	}
	defer im.Close()

	cat, err := memory.Open(ctx, im, memory.Options{Codex: memory.DefaultCodex()})
	if err != nil {
		panic(err)
	}
	fmt.Println(cat.Stats().Embedder, cat.Stats().Dimensions)

	results, err := cat.Search(ctx, "How does the guardian keep an infinite loop from hanging the host?", 1, nil)
	if err != nil {
		panic(err)
	}
	first, _, _ := strings.Cut(results[0].Text, "?")
	fmt.Println(first + "?")
	// Output:
	// batos-hash-v1/384 384
	// How does the guardian stop runaway code?
}

// What a transaction teaches the catalog is forgotten when the transaction
// rolls back, and found once it commits.
func ExampleCatalog_Add() {
	ctx := context.Background()
	im, _ := uvm.Open("", uvm.Options{InMemory: true})
	defer im.Close()
	cat, _ := memory.Open(ctx, im, memory.Options{})

	note := memory.Document{ID: "notes/tides", Kind: "note", Source: "example",
		Text: "The tide rises twice a day, pulled by the moon."}
	err := im.Update(ctx, func(tx *uvm.Tx) error {
		if err := cat.Add(ctx, tx, note); err != nil {
			return err
		}
		return errors.New("the cycle failed")
	})
	fmt.Println(err)
	found, _ := cat.Search(ctx, "moon tide", 5, nil)
	fmt.Println("after rollback:", len(found))

	_ = im.Update(ctx, func(tx *uvm.Tx) error { return cat.Add(ctx, tx, note) })
	found, _ = cat.Search(ctx, "moon tide", 5, nil)
	fmt.Println("after commit:", len(found), found[0].DocumentID, found[0].Metadata["kind"])
	// Output:
	// the cycle failed
	// after rollback: 0
	// after commit: 1 notes/tides note
}

// Index installed methods and find one that already does what a new
// message asks for.
func ExampleCatalog_SearchSkills() {
	ctx := context.Background()
	im, _ := uvm.Open("", uvm.Options{InMemory: true})
	defer im.Close()
	cat, _ := memory.Open(ctx, im, memory.Options{})

	_ = im.Update(ctx, func(tx *uvm.Tx) error {
		for _, s := range []memory.Skill{
			{OID: 3, Selector: "celsius_to_fahrenheit", Version: 1, Intent: "convert a temperature from Celsius to Fahrenheit"},
			{OID: 3, Selector: "count_words", Version: 2, Intent: "count the words of a text"},
		} {
			if err := cat.IndexSkill(ctx, tx, s); err != nil {
				return err
			}
		}
		return nil
	})
	matches, _ := cat.SearchSkills(ctx, "how many words does this text have?", 1)
	fmt.Println(matches[0].OID, matches[0].Selector, matches[0].Version)
	// Output:
	// 3 count_words 2
}

// Ingest a codex; a bad line is skipped and reported with its number.
func ExampleCatalog_IngestCodex() {
	ctx := context.Background()
	im, _ := uvm.Open("", uvm.Options{InMemory: true})
	defer im.Close()
	cat, _ := memory.Open(ctx, im, memory.Options{})

	codex := `{"prompt": "Who audits generated code?", "response": "The guardian."}
{"prompt": "Who writes the code?"}
{"prompt": "Where do objects live?", "response": "In the image."}`
	_ = im.Update(ctx, func(tx *uvm.Tx) error {
		rep, err := cat.IngestCodex(ctx, tx, strings.NewReader(codex), memory.IngestOptions{Source: "faq", SkipBadLines: true})
		fmt.Println("added:", rep.Added)
		for _, bad := range rep.Skipped {
			fmt.Println("skipped", bad)
		}
		return err
	})
	// Output:
	// added: 2
	// skipped line 2: missing or empty "response"
}

// Chunk a document by meaning: the cut falls where the topic changes.
func ExampleChunk() {
	ctx := context.Background()
	text := "The volcano erupted at dawn and lava flowed down the slope to the sea. " +
		"Ash from the volcano covered the villages near the crater all morning. " +
		"Geologists measured the lava and the magma under the crater with sensors. " +
		"In town, the baker kneaded rye dough for the sourdough bread before sunrise. " +
		"The bakery sold warm bread and rye loaves to a long queue of customers. " +
		"By noon the baker had sold every loaf of bread in the bakery."
	embed := func(ctx context.Context, texts []string) ([][]float32, error) {
		e := memory.OfflineEmbedder(0)
		var out [][]float32
		for _, t := range texts {
			v, err := e.Embed(ctx, t)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	chunks, _ := memory.Chunk(ctx, text, memory.ChunkOptions{MinBytes: 100, MaxBytes: 400}, embed)
	for _, c := range chunks {
		fmt.Println(c[:40] + "…")
	}
	// Output:
	// The volcano erupted at dawn and lava flo…
	// In town, the baker kneaded rye dough for…
}

// The offline embedder needs no network: similar wording, similar vectors.
func ExampleOfflineEmbedder() {
	ctx := context.Background()
	e := memory.OfflineEmbedder(0)
	a, _ := e.Embed(ctx, "the guardian audits generated code")
	b, _ := e.Embed(ctx, "generated code is audited by the guardian")
	c, _ := e.Embed(ctx, "bees make honey")
	dot := func(x, y []float32) (s float32) {
		for i := range x {
			s += x[i] * y[i]
		}
		return s
	}
	fmt.Println(e.Name, len(a), dot(a, b) > dot(a, c))
	// Output:
	// batos-hash-v1/384 384 true
}

// A real embedding model through langchaingo's Ollama client. Here a local
// stand-in answers Ollama's /api/embed; point ServerURL at a real server
// (http://127.0.0.1:11434) in a program.
func ExampleOllamaEmbedder() {
	ctx := context.Background()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Model, Input string }
		_ = json.NewDecoder(r.Body).Decode(&req)
		v, _ := memory.OfflineEmbedder(16).Embed(ctx, req.Input) // a stand-in for the model
		_ = json.NewEncoder(w).Encode(map[string]any{"model": req.Model, "embeddings": [][]float32{v}})
	}))
	defer srv.Close()

	emb, err := memory.OllamaEmbedder(memory.OllamaOptions{ServerURL: srv.URL, Model: "nomic-embed-text"})
	if err != nil {
		panic(err)
	}
	im, _ := uvm.Open("", uvm.Options{InMemory: true})
	defer im.Close()
	cat, err := memory.Open(ctx, im, memory.Options{Embedder: emb})
	if err != nil {
		panic(err)
	}
	_ = im.Update(ctx, func(tx *uvm.Tx) error {
		return cat.Add(ctx, tx, memory.Document{ID: "greeting", Text: "Hello from the model."})
	})
	s := cat.Stats()
	fmt.Println(s.Embedder, s.Dimensions, s.Documents)
	// Output:
	// ollama:nomic-embed-text 16 1
}

// Two catalogs of one image: the second learns the first one's commits by
// Refresh, from the vectors stored in the image. (On a shared image, in
// PostgreSQL, searches refresh by themselves, and Follow refreshes as
// other processes commit.)
func ExampleCatalog_Refresh() {
	ctx := context.Background()
	im, _ := uvm.Open("", uvm.Options{InMemory: true})
	defer im.Close()
	writer, _ := memory.Open(ctx, im, memory.Options{})
	reader, _ := memory.Open(ctx, im, memory.Options{})

	_ = im.Update(ctx, func(tx *uvm.Tx) error {
		return writer.Add(ctx, tx, memory.Document{ID: "notes/tides", Text: "The tide rises twice a day, pulled by the moon."})
	})
	found, _ := reader.Search(ctx, "moon tide", 5, nil)
	fmt.Println("before Refresh:", len(found))
	if err := reader.Refresh(ctx); err != nil {
		panic(err)
	}
	found, _ = reader.Search(ctx, "moon tide", 5, nil)
	fmt.Println("after Refresh:", found[0].DocumentID)
	// Output:
	// before Refresh: 0
	// after Refresh: notes/tides
}
