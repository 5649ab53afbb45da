// Package memory is the knowledge catalog of a batos image: documents split
// into chunks, embedded, stored in the image and searched by meaning through
// chromem-go. It also holds the skill index, through which the cognitive
// cycle finds an installed method that already does what a new message asks.
//
// # Data model
//
//	uvm.Image (the source of truth, records written in the caller's Tx)
//	  memory.doc    id → kind, source, metadata, chunk count, generation
//	  memory.chunk  id, index → chunk text
//	  memory.vec    embedder tag, text hash → unit vector (float32, little-endian)
//	  memory.meta   embedder name and dimension
//	        │ rebuilt on Open, then updated by commit hooks (uvm.Tx.OnCommit)
//	        ▼
//	chromem-go DB (in memory): one collection per kind ("codex", "skill", …)
//	  chunk "id#i" → vector, text, metadata {kind, source, document, chunk, …}
//
// The image is the source of truth. [Catalog.Add] writes a document, its
// chunks and their vectors in the caller's transaction, so a cycle that rolls
// back also forgets what it learnt. The search index learns a document only
// when that transaction commits. A vector is kept once per distinct chunk text
// and embedder: adding the same text again embeds nothing.
//
// # Usage
//
//	cat, err := memory.Open(ctx, im, memory.Options{Codex: memory.DefaultCodex()})
//	err = im.Update(ctx, func(tx *uvm.Tx) error {
//		return cat.Add(ctx, tx, memory.Document{ID: "notes/1", Kind: "note", Text: text})
//	})
//	results, err := cat.Search(ctx, "how are methods audited?", 3, map[string]string{"kind": "codex"})
//
// # Embedders
//
// An [Embedder] carries a name, a dimension and chromem-go's EmbeddingFunc.
// [OfflineEmbedder] (the default) needs no network and no weights: it hashes
// words, word pairs and character trigrams into a 384-dimension vector. It
// finds texts that share words or word pieces with the query; it does not
// know synonyms or meaning. [OllamaEmbedder] and [OpenAIEmbedder] reach real
// embedding models through langchaingo. The catalog always hands chromem-go
// its own EmbeddingFunc, so chromem-go never falls back to its default
// (network) embedder. The embedder's name and dimension are recorded in the
// image; opening it with another one fails with an *[EmbedderMismatchError],
// or, with [Reembed], embeds every chunk again before switching over.
//
// # Chunking
//
// [ChunkSemantic] (the default) splits a document into sentences, embeds them
// and cuts where neighbour similarity drops below the 5th percentile, within
// [ChunkOptions.MinBytes] and [ChunkOptions.MaxBytes]; [ChunkBySize] packs
// sentences by size. See [Chunk].
//
// # Codex
//
// [Catalog.IngestCodex] reads JSONL prompt–response pairs; a bad line is
// reported with its line number and either fails the ingestion or is skipped
// and reported ([IngestOptions.SkipBadLines]). [DefaultCodex] is the project's
// own codex, embedded in the binary.
//
// # Caveats
//
//   - Open one Catalog per image and namespace. A second Catalog on the same
//     image does not see the first one's commits until it is opened again.
//   - Searches see committed state only, a moment after the commit (the
//     index is updated by the commit hook, on the committing goroutine).
//   - Search is exhaustive (chromem-go compares the query with every chunk of
//     the kinds searched): about 3 ms for 10,000 chunks of 384 dimensions on
//     two cores, 3.6 ms on one (BenchmarkQuery10k). Filtering on "kind" is
//     free, since each kind has its own collection; other metadata filters
//     cost a pass over the chunks of the kinds searched.
//   - Open reads every memory record and rebuilds the index: about 100 ms
//     for 10,000 chunks (BenchmarkRebuild10k).
//   - One transaction holds a bounded amount of data (uvm's caveats): add
//     large corpora in several transactions.
//   - Embedding happens inside the caller's transaction, which Update may run
//     again after a conflict; a small cache keeps the model from being asked
//     twice for the same text.
package memory
