package memory

import (
	"cmp"
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	chromem "github.com/philippgille/chromem-go"

	"github.com/batos-dev/batos/uvm"
)

// MaxIDLen bounds a document ID, in bytes.
const MaxIDLen = uvm.MaxNameLen

// Metadata keys the catalog sets on every chunk. A document may not use them
// in its own Metadata.
const (
	KeyKind     = "kind"     // Document.Kind
	KeySource   = "source"   // Document.Source
	KeyDocument = "document" // Document.ID
	KeyChunk    = "chunk"    // the chunk's index in its document, from 0
)

// DefaultKind is the kind of a document that names none.
const DefaultKind = "doc"

// EmbedderChange says what Open does when the image's vectors were made by
// another embedder than Options.Embedder.
type EmbedderChange int

const (
	// ReembedFail makes Open fail with an *EmbedderMismatchError. The image
	// is not touched.
	ReembedFail EmbedderChange = iota
	// Reembed embeds every stored chunk again with the new embedder, in
	// batches of transactions, then switches the catalog to it and deletes
	// the old vectors. An interrupted re-embedding resumes where it stopped
	// on the next Open; until the switch the old vectors stay in force.
	Reembed
)

// Options configure a Catalog. The zero value means the defaults that
// DefaultOptions documents.
type Options struct {
	// Embedder makes the vectors. The zero Embedder means OfflineEmbedder(384).
	Embedder Embedder
	// OnEmbedderChange: what to do when the image was embedded by another
	// embedder. The zero value fails (ReembedFail).
	OnEmbedderChange EmbedderChange
	// Chunking cuts documents into chunks; the zero value is DefaultChunkOptions.
	Chunking ChunkOptions
	// Namespace prefixes the catalog's record namespaces in the image.
	// Zero means "memory". Two catalogs with different namespaces can share
	// an image.
	Namespace string
	// Codex, if not nil, is a JSONL codex ingested by Open (strictly: a bad
	// line fails Open) in transactions of its own, when the image does not
	// hold this exact codex yet: entries new since the last seeding are
	// added, entries no longer in it removed. An interrupted seeding resumes
	// on the next Open. DefaultCodex() is the project's own.
	Codex []byte
	// CodexSource names the seeded codex (its documents' Source and ID
	// prefix). Zero means "codex".
	CodexSource string
	// EmbedBatch bounds the texts given to the embedder in one call. Zero means 64.
	EmbedBatch int
	// CacheSize bounds an in-memory cache of recent vectors, so a
	// transaction that Update runs again after a conflict does not ask the
	// model twice. Zero means 4096 vectors; negative turns it off.
	CacheSize int
	// Logger receives skipped codex lines, re-embedding progress and index
	// anomalies. Nil discards.
	Logger *slog.Logger
}

// DefaultOptions returns the options with every default filled in.
func DefaultOptions() Options {
	return Options{
		Embedder:    OfflineEmbedder(DefaultDimensions),
		Chunking:    DefaultChunkOptions(),
		Namespace:   "memory",
		CodexSource: "codex",
		EmbedBatch:  64,
		CacheSize:   4096,
		Logger:      slog.New(slog.DiscardHandler),
	}
}

func (o Options) withDefaults() (Options, error) {
	d := DefaultOptions()
	switch {
	case o.Embedder.Name == "" && o.Embedder.Embed == nil:
		o.Embedder = d.Embedder
	case o.Embedder.Name == "" || o.Embedder.Embed == nil:
		return o, ErrNoEmbedder
	}
	if o.Embedder.Dimensions < 0 {
		return o, fmt.Errorf("%w: negative dimensions", ErrNoEmbedder)
	}
	o.Chunking = o.Chunking.withDefaults()
	if o.Namespace == "" {
		o.Namespace = d.Namespace
	}
	if err := uvm.CheckName(o.Namespace + ".chunk"); err != nil {
		return o, fmt.Errorf("memory: namespace: %w", err)
	}
	if o.CodexSource == "" {
		o.CodexSource = d.CodexSource
	}
	if err := checkID(o.CodexSource); err != nil {
		return o, fmt.Errorf("memory: codex source: %w", err)
	}
	if o.EmbedBatch <= 0 {
		o.EmbedBatch = d.EmbedBatch
	}
	if o.CacheSize == 0 {
		o.CacheSize = d.CacheSize
	}
	if o.Logger == nil {
		o.Logger = d.Logger
	}
	return o, nil
}

// Document is a text to remember.
type Document struct {
	// ID names the document in the catalog; adding a document with the ID
	// of another replaces it. Up to MaxIDLen bytes of UTF-8, no control characters.
	ID string
	// Text is the content; it is cut into chunks.
	Text string
	// Kind groups documents ("codex", "skill", "note", …); searches can be
	// limited to one kind cheaply. Zero means DefaultKind.
	Kind string
	// Source says where the text came from (a file, a cycle, a persona).
	Source string
	// Metadata are further string pairs to filter searches by. The keys
	// kind, source, document and chunk are the catalog's.
	Metadata map[string]string
}

// Result is one chunk found by a search.
type Result struct {
	ID         string // the chunk: DocumentID#Chunk
	DocumentID string
	Chunk      int
	Kind       string
	Source     string
	// Text is the chunk's text: runs of white space are folded to one space,
	// except inside fenced code blocks.
	Text string
	// Metadata holds the document's metadata and the catalog's keys
	// (kind, source, document, chunk). It is the caller's to keep.
	Metadata map[string]string
	// Similarity is the cosine similarity of the chunk and the query, in [-1, 1].
	Similarity float32
}

// Stats describe what the index holds.
type Stats struct {
	Documents  int
	Chunks     int
	Embedder   string
	Dimensions int // 0 until the first vector, for an embedder that does not say
	Kinds      map[string]int
}

// Catalog is the knowledge catalog of one image. It is safe for concurrent
// use. Writes go through the caller's transactions; searches see what has
// been committed, by this process or, on a shared image, by any.
type Catalog struct {
	im     *uvm.Image
	opts   Options
	emb    Embedder
	ns     names
	tag    string
	log    *slog.Logger
	cache  *vecCache
	shared bool         // im.Shared(): other processes commit to the image
	sums   maphash.Seed // for docRecord sums
	holder string       // this catalog's name as a lease holder

	refreshing sync.Mutex    // one Refresh at a time
	seq        atomic.Uint64 // the image's change sequence the index is up to date with (shared images)

	mu     sync.RWMutex // guards everything below
	dims   int
	db     *chromem.DB
	cols   map[string]*chromem.Collection // one per kind
	docs   map[string]indexed             // also deleted ones (gen only)
	live   int
	chunks int
	hooks  uint64 // commit hooks applied so far
}

// indexed is what the index holds of a document.
type indexed struct {
	gen    uint64
	kind   string
	chunks int    // 0 for a deleted document
	sum    uint64 // maphash of the document's record as stored
	hook   uint64 // c.hooks when a commit hook last set it; 0 when Open or Refresh did
}

// Open opens the catalog of an image: it records the embedder in the image
// (or checks that it is the one recorded, see Options.OnEmbedderChange),
// finishes interrupted work, rebuilds the search index from the image, and
// seeds Options.Codex.
//
// Open one Catalog per process, image and namespace. On a shared image
// (uvm.Image.Shared: several processes on one PostgreSQL database) each
// process opens its own, at the same time if need be: the work that
// changes the image (re-embedding, cleaning up, seeding) is done by one
// of them under a lease in the image while the others wait for it, and
// each catalog follows the others' commits (see Refresh and Follow).
func Open(ctx context.Context, im *uvm.Image, opts Options) (*Catalog, error) {
	if im == nil {
		return nil, fmt.Errorf("memory: open: nil image")
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Catalog{
		im:     im,
		opts:   o,
		emb:    o.Embedder,
		ns:     newNames(o.Namespace),
		tag:    embedderTag(o.Embedder.Name),
		log:    o.Logger,
		cache:  newVecCache(o.CacheSize),
		shared: im.Shared(),
		sums:   maphash.MakeSeed(),
		holder: leaseHolder(),
	}
	if err := c.ensureMeta(ctx); err != nil {
		return nil, err
	}
	if err := c.exclusive(ctx, c.needsUpkeep, c.upkeep); err != nil {
		return nil, err
	}
	// The change sequence before the index's snapshot: commits after it
	// make the first search refresh.
	seq, err := c.im.ChangeSeq(ctx)
	if err != nil {
		return nil, fmt.Errorf("memory: open: %w", err)
	}
	if err := c.rebuild(ctx); err != nil {
		// Vectors, chunks and the skill index are derived data: a damaged
		// record is dropped (see repair), not fatal.
		if !damage(err) {
			return nil, err
		}
		c.log.Warn("memory: damaged records; repairing the catalog", "err", err)
		if err := c.repair(ctx); err != nil {
			return nil, err
		}
		if err := c.rebuild(ctx); err != nil {
			return nil, err
		}
	}
	c.seq.Store(seq)
	if o.Codex != nil {
		needed := func(ctx context.Context) (bool, error) { return c.needsSeed(ctx, o.Codex, o.CodexSource) }
		err := c.exclusive(ctx, needed, func(ctx context.Context) error {
			_, err := c.seed(ctx, o.Codex, o.CodexSource)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	if c.shared {
		// Another process may have seeded while this one waited.
		if err := c.follow(ctx); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// needsUpkeep reports whether the image's vectors are another embedder's
// or old vectors wait for deletion.
func (c *Catalog) needsUpkeep(ctx context.Context) (bool, error) {
	var m metaRecord
	err := c.im.View(ctx, func(tx *uvm.Tx) error {
		var err error
		m, _, err = c.ns.readMeta(tx)
		return err
	})
	return m.Tag != c.tag || len(m.Cleanup) > 0, err
}

// upkeep finishes what a change of embedder left: it re-embeds the
// catalog (see Options.OnEmbedderChange) and deletes the vectors of
// embedders no longer used.
func (c *Catalog) upkeep(ctx context.Context) error {
	var m metaRecord
	err := c.im.View(ctx, func(tx *uvm.Tx) error {
		var err error
		m, _, err = c.ns.readMeta(tx)
		return err
	})
	if err != nil {
		return err
	}
	if m.Tag != c.tag {
		if c.opts.OnEmbedderChange != Reembed {
			return &EmbedderMismatchError{Stored: m.Embedder, StoredDims: m.Dims,
				Requested: c.emb.Name, RequestedDims: c.emb.Dimensions}
		}
		if err := c.reembed(ctx, m); err != nil {
			return err
		}
	}
	return c.cleanup(ctx)
}

// ensureMeta records the embedder in a new image, or checks the recorded
// one: another embedder is refused unless Options.OnEmbedderChange says
// to re-embed (see upkeep). A damaged catalog record is written again for
// this embedder, with the vectors of any other embedder found in the
// image left for cleanup (vectors of this one that are missing are
// embedded again by the repair).
func (c *Catalog) ensureMeta(ctx context.Context) error {
	damaged := false
	err := c.im.Update(ctx, func(tx *uvm.Tx) error {
		m, ok, err := c.ns.readMeta(tx)
		if damaged = damage(err); damaged {
			return c.rewriteMeta(tx)
		}
		if err != nil {
			return err
		}
		if !ok {
			return c.ns.writeMeta(tx, metaRecord{Embedder: c.emb.Name, Dims: c.emb.Dimensions, Tag: c.tag})
		}
		sameDims := m.Dims == 0 || c.emb.Dimensions == 0 || m.Dims == c.emb.Dimensions
		if m.Tag == c.tag && sameDims {
			return nil
		}
		if c.opts.OnEmbedderChange != Reembed || m.Tag == c.tag {
			// Same name, other dimension: the name does not say what changed,
			// so re-embedding under it could mix sizes. Refuse.
			return &EmbedderMismatchError{Stored: m.Embedder, StoredDims: m.Dims,
				Requested: c.emb.Name, RequestedDims: c.emb.Dimensions}
		}
		return nil
	})
	if err == nil && damaged {
		c.log.Warn("memory: the catalog record was damaged; recorded the embedder again", "record", c.ns.meta+"/"+metaKey, "embedder", c.emb.Name)
	}
	return err
}

// rewriteMeta writes the catalog record for this embedder in tx, listing
// for cleanup the tags of the other embedders' vectors the image holds.
func (c *Catalog) rewriteMeta(tx *uvm.Tx) error {
	others := map[string]bool{}
	err := tx.RecordKeys(c.ns.vec, "", func(key string) error {
		if tag, _, ok := strings.Cut(key, "/"); ok && tag != c.tag {
			others[tag] = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.ns.writeMeta(tx, metaRecord{Embedder: c.emb.Name, Dims: c.emb.Dimensions, Tag: c.tag, Cleanup: slices.Sorted(maps.Keys(others))})
}

// checkTx checks that tx is this image's and, for writes, writable.
func (c *Catalog) checkTx(tx *uvm.Tx, write bool) error {
	if tx == nil {
		return fmt.Errorf("memory: nil transaction")
	}
	if tx.Image() != c.im {
		return ErrWrongImage
	}
	if write && !tx.Writable() {
		return uvm.ErrReadOnly
	}
	return nil
}

func checkID(id string) error {
	if err := uvm.CheckName(id); err != nil {
		return fmt.Errorf("%w %q: %v", ErrBadID, id, err)
	}
	return nil
}

// Add stores doc in the image inside tx: it cuts the text into chunks,
// embeds each chunk whose text the image has no vector for yet, and writes
// the document, its chunks and the new vectors. A document with doc.ID is
// replaced; adding the same document again changes nothing and embeds
// nothing. The search index learns the document when tx commits, and never
// if it does not.
func (c *Catalog) Add(ctx context.Context, tx *uvm.Tx, doc Document) error {
	_, err := c.add(ctx, tx, doc, false)
	return err
}

// change is what one committed Add or Delete does to the index.
type change struct {
	id      string
	gen     uint64
	sum     uint64 // maphash of the document's record as written
	deleted bool
	kind    string
	meta    map[string]string // chunk metadata without the chunk index
	texts   []string
	vecs    [][]float32
	dims    int // the catalog's dimension, when this transaction learnt it
}

// add is Add; whole keeps the text as one chunk (skills). It reports whether
// anything changed.
func (c *Catalog) add(ctx context.Context, tx *uvm.Tx, doc Document, whole bool) (bool, error) {
	if err := c.checkTx(tx, true); err != nil {
		return false, err
	}
	if err := checkID(doc.ID); err != nil {
		return false, err
	}
	if blank(doc.Text) {
		return false, fmt.Errorf("%w: document %q", ErrEmptyText, doc.ID)
	}
	if doc.Kind == "" {
		doc.Kind = DefaultKind
	}
	if err := uvm.CheckName(doc.Kind); err != nil {
		return false, fmt.Errorf("memory: document %q: kind: %w", doc.ID, err)
	}
	for k := range doc.Metadata {
		switch k {
		case KeyKind, KeySource, KeyDocument, KeyChunk:
			return false, fmt.Errorf("%w %q in document %q", ErrReservedKey, k, doc.ID)
		}
	}
	meta, err := c.currentMeta(tx)
	if err != nil {
		return false, err
	}
	old, hasOld, err := c.ns.readDoc(tx, doc.ID)
	if err != nil {
		return false, err
	}
	hash := textHash(string(encodeJSON(struct {
		K, S, T string
		M       map[string]string
	}{doc.Kind, doc.Source, doc.Text, doc.Metadata})))
	if hasOld && !old.Deleted && old.Hash == hash {
		return false, nil
	}

	s := c.newSession(tx, meta.Dims)
	var texts []string
	if whole {
		texts = []string{doc.Text}
	} else {
		texts, err = Chunk(ctx, doc.Text, c.opts.Chunking, s.embed)
		if err != nil {
			return false, err
		}
	}
	vecs, err := s.embed(ctx, texts)
	if err != nil {
		return false, err
	}
	learnt := 0
	if meta.Dims == 0 {
		meta.Dims = len(vecs[0])
		learnt = meta.Dims
		if err := c.ns.writeMeta(tx, meta); err != nil {
			return false, err
		}
	}

	// Take the old chunks away, then write the new ones, then drop the
	// vectors nothing uses any more.
	oldHashes, err := c.removeChunks(tx, doc.ID, old, hasOld)
	if err != nil {
		return false, err
	}
	newHashes := map[string]bool{}
	for i, t := range texts {
		h := textHash(t)
		newHashes[h] = true
		if err := tx.PutRecord(c.ns.chunk, chunkKey(doc.ID, i), encodeJSON(chunkRecord{Hash: h, Text: t})); err != nil {
			return false, err
		}
		if err := tx.PutRecord(c.ns.ref, refKey(h, doc.ID, i), []byte{1}); err != nil {
			return false, err
		}
		if !s.stored[h] {
			if err := tx.PutRecord(c.ns.vec, vecKey(c.tag, h), encodeVec(vecs[i])); err != nil {
				return false, err
			}
			s.stored[h] = true
		}
	}
	if err := c.dropUnused(tx, oldHashes, newHashes); err != nil {
		return false, err
	}
	rec := docRecord{Gen: old.Gen + 1, Kind: doc.Kind, Source: doc.Source, Meta: doc.Metadata, Hash: hash, Chunks: len(texts)}
	raw := encodeJSON(rec)
	if err := tx.PutRecord(c.ns.doc, doc.ID, raw); err != nil {
		return false, err
	}
	ch := change{id: doc.ID, gen: rec.Gen, sum: maphash.Bytes(c.sums, raw), kind: doc.Kind, meta: chunkMeta(doc.ID, rec),
		texts: texts, vecs: vecs, dims: learnt}
	tx.OnCommit(func() { c.apply(ch) })
	return true, nil
}

// Delete removes a document and its chunks from the image inside tx, and
// from the index when tx commits. Deleting a missing document is not an error.
func (c *Catalog) Delete(ctx context.Context, tx *uvm.Tx, id string) error {
	_, err := c.remove(ctx, tx, id)
	return err
}

func (c *Catalog) remove(_ context.Context, tx *uvm.Tx, id string) (bool, error) {
	if err := c.checkTx(tx, true); err != nil {
		return false, err
	}
	if err := checkID(id); err != nil {
		return false, err
	}
	if _, err := c.currentMeta(tx); err != nil {
		return false, err
	}
	old, ok, err := c.ns.readDoc(tx, id)
	if err != nil || !ok || old.Deleted {
		return false, err
	}
	oldHashes, err := c.removeChunks(tx, id, old, true)
	if err != nil {
		return false, err
	}
	if err := c.dropUnused(tx, oldHashes, nil); err != nil {
		return false, err
	}
	// A tombstone keeps the generation counting, so that the index applies
	// commits of one document in order even if their hooks run out of order.
	raw := encodeJSON(docRecord{Gen: old.Gen + 1, Deleted: true})
	if err := tx.PutRecord(c.ns.doc, id, raw); err != nil {
		return false, err
	}
	ch := change{id: id, gen: old.Gen + 1, sum: maphash.Bytes(c.sums, raw), deleted: true}
	tx.OnCommit(func() { c.apply(ch) })
	return true, nil
}

// currentMeta reads the meta record inside tx (so that a concurrent change
// of embedder or dimension conflicts) and checks it is this catalog's.
func (c *Catalog) currentMeta(tx *uvm.Tx) (metaRecord, error) {
	m, ok, err := c.ns.readMeta(tx)
	if err != nil {
		return m, err
	}
	if !ok {
		return m, corrupt(c.ns.meta, metaKey, "catalog record missing")
	}
	if m.Tag != c.tag {
		return m, &EmbedderMismatchError{Stored: m.Embedder, StoredDims: m.Dims,
			Requested: c.emb.Name, RequestedDims: c.emb.Dimensions}
	}
	return m, nil
}

// removeChunks deletes a document's chunk and ref records and returns the
// hashes they held.
func (c *Catalog) removeChunks(tx *uvm.Tx, id string, old docRecord, hasOld bool) (map[string]bool, error) {
	hashes := map[string]bool{}
	if !hasOld || old.Deleted {
		return hashes, nil
	}
	type kv struct {
		key string
		rec chunkRecord
	}
	var found []kv
	err := tx.ScanRecords(c.ns.chunk, docChunkPrefix(id), func(key string, val []byte) error {
		var r chunkRecord
		if err := decodeJSON(c.ns.chunk, key, val, &r); err != nil {
			return err
		}
		found = append(found, kv{key, r})
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, f := range found {
		_, i, ok := splitChunkKey(f.key)
		if !ok {
			return nil, corrupt(c.ns.chunk, f.key, "bad chunk key")
		}
		if err := tx.DeleteRecord(c.ns.chunk, f.key); err != nil {
			return nil, err
		}
		if err := tx.DeleteRecord(c.ns.ref, refKey(f.rec.Hash, id, i)); err != nil {
			return nil, err
		}
		hashes[f.rec.Hash] = true
	}
	return hashes, nil
}

// dropUnused deletes the vectors of old hashes that no chunk uses any more.
func (c *Catalog) dropUnused(tx *uvm.Tx, old, keep map[string]bool) error {
	for _, h := range slices.Sorted(maps.Keys(old)) {
		if keep[h] {
			continue
		}
		used, err := c.ns.hasRefs(tx, h)
		if err != nil {
			return err
		}
		if !used {
			if err := tx.DeleteRecord(c.ns.vec, vecKey(c.tag, h)); err != nil {
				return err
			}
		}
	}
	return nil
}

// chunkMeta is the metadata every chunk of a document carries, but the index.
func chunkMeta(id string, d docRecord) map[string]string {
	m := make(map[string]string, len(d.Meta)+4)
	maps.Copy(m, d.Meta)
	m[KeyKind] = d.Kind
	m[KeySource] = d.Source
	m[KeyDocument] = id
	return m
}

// apply brings the index in step with one committed change. Changes to one
// document are applied in generation order: a late hook of an older commit
// is ignored.
func (c *Catalog) apply(ch change) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch.dims > 0 && c.dims == 0 {
		c.dims = ch.dims
	}
	cur, ok := c.docs[ch.id]
	if ok && ch.gen <= cur.gen {
		return
	}
	c.hooks++
	c.unindex(ch.id, cur)
	if ch.deleted {
		c.docs[ch.id] = indexed{gen: ch.gen, sum: ch.sum, hook: c.hooks}
		return
	}
	c.index(ch.id, ch.gen, ch.kind, ch.meta, ch.texts, ch.vecs)
	d := c.docs[ch.id]
	d.sum, d.hook = ch.sum, c.hooks
	c.docs[ch.id] = d
}

// unindex takes a document's chunks out of the index. c.mu is held.
func (c *Catalog) unindex(id string, cur indexed) {
	if cur.chunks == 0 {
		return
	}
	ids := make([]string, cur.chunks)
	for i := range ids {
		ids[i] = chunkID(id, i)
	}
	if col := c.cols[cur.kind]; col != nil {
		if err := col.Delete(context.Background(), nil, nil, ids...); err != nil {
			c.log.Error("memory: index delete failed", "document", id, "err", err)
		}
	}
	c.chunks -= cur.chunks
	c.live--
}

// index puts a document's chunks into the index. c.mu is held.
func (c *Catalog) index(id string, gen uint64, kind string, meta map[string]string, texts []string, vecs [][]float32) {
	col := c.cols[kind]
	if col == nil {
		var err error
		col, err = c.db.CreateCollection(kind, nil, c.embedFunc)
		if err != nil { // only for an empty name, which kinds never are
			c.log.Error("memory: index collection failed", "kind", kind, "err", err)
			return
		}
		c.cols[kind] = col
	}
	for i, t := range texts {
		m := maps.Clone(meta)
		m[KeyChunk] = strconv.Itoa(i)
		err := col.AddDocument(context.Background(), chromem.Document{ID: chunkID(id, i), Metadata: m, Embedding: vecs[i], Content: t})
		if err != nil {
			c.log.Error("memory: index add failed", "document", id, "chunk", i, "err", err)
		}
	}
	c.docs[id] = indexed{gen: gen, kind: kind, chunks: len(texts)}
	c.chunks += len(texts)
	c.live++
}

// embedFunc is the EmbeddingFunc the chromem-go collections hold, so that
// they never fall back to chromem-go's default (a network service). The
// catalog always hands them vectors, so it is not called in practice.
func (c *Catalog) embedFunc(ctx context.Context, text string) ([]float32, error) {
	vs, err := c.emb.embedMany(ctx, []string{text}, 1)
	if err != nil {
		return nil, err
	}
	return vs[0], nil
}

// rebuild fills the index from the image, in one consistent snapshot.
func (c *Catalog) rebuild(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.db = chromem.NewDB()
	c.cols = map[string]*chromem.Collection{}
	c.docs = map[string]indexed{}
	c.live, c.chunks = 0, 0
	return c.im.View(ctx, func(tx *uvm.Tx) error {
		meta, err := c.currentMeta(tx)
		if err != nil {
			return err
		}
		c.dims = meta.Dims
		docs := map[string]docRecord{}
		sums := map[string]uint64{}
		err = tx.ScanRecords(c.ns.doc, "", func(key string, val []byte) error {
			var d docRecord
			if err := decodeJSON(c.ns.doc, key, val, &d); err != nil {
				return err
			}
			docs[key] = d
			sums[key] = maphash.Bytes(c.sums, val)
			return nil
		})
		if err != nil {
			return err
		}
		vecs := map[string][]float32{}
		err = tx.ScanRecords(c.ns.vec, c.tag+"/", func(key string, val []byte) error {
			v, err := decodeVec(c.ns.vec, key, val)
			if err != nil {
				return err
			}
			if c.dims != 0 && len(v) != c.dims {
				return &DimensionError{Embedder: c.emb.Name, Want: c.dims, Got: len(v)}
			}
			vecs[key[len(c.tag)+1:]] = v
			return nil
		})
		if err != nil {
			return err
		}
		type pending struct {
			texts []string
			vecs  [][]float32
		}
		chunks := map[string]*pending{}
		err = tx.ScanRecords(c.ns.chunk, "", func(key string, val []byte) error {
			id, i, ok := splitChunkKey(key)
			if !ok {
				return corrupt(c.ns.chunk, key, "bad chunk key")
			}
			var r chunkRecord
			if err := decodeJSON(c.ns.chunk, key, val, &r); err != nil {
				return err
			}
			d, ok := docs[id]
			if !ok || d.Deleted {
				return corrupt(c.ns.chunk, key, "chunk of a missing document")
			}
			v, ok := vecs[r.Hash]
			if !ok {
				return corrupt(c.ns.vec, vecKey(c.tag, r.Hash), "missing vector for chunk "+chunkID(id, i))
			}
			p := chunks[id]
			if p == nil {
				p = &pending{}
				chunks[id] = p
			}
			if i != len(p.texts) {
				return corrupt(c.ns.chunk, key, fmt.Sprintf("chunk %d where %d was expected", i, len(p.texts)))
			}
			p.texts = append(p.texts, r.Text)
			p.vecs = append(p.vecs, v)
			return nil
		})
		if err != nil {
			return err
		}
		for _, id := range slices.Sorted(maps.Keys(docs)) {
			d := docs[id]
			if d.Deleted {
				c.docs[id] = indexed{gen: d.Gen, sum: sums[id]}
				continue
			}
			p := chunks[id]
			if p == nil || len(p.texts) != d.Chunks {
				got := 0
				if p != nil {
					got = len(p.texts)
				}
				return corrupt(c.ns.doc, id, fmt.Sprintf("%d chunks stored, %d recorded", got, d.Chunks))
			}
			c.index(id, d.Gen, d.Kind, chunkMeta(id, d), p.texts, p.vecs)
			e := c.docs[id]
			e.sum = sums[id]
			c.docs[id] = e
		}
		return nil
	})
}

// Search returns the k chunks most similar in meaning to query, best first,
// among those whose metadata hold every pair of filter (nil: all). Asking
// for more than there are is not an error; an empty catalog answers nothing
// without calling the embedder. A "kind" filter is cheap: each kind has its
// own index.
//
// On a shared image (uvm.Image.Shared) Search first asks the image for its
// change sequence, and refreshes the index (see Refresh) when another
// process has committed since it was last brought up to date: a commit
// acknowledged to any process is seen.
func (c *Catalog) Search(ctx context.Context, query string, k int, filter map[string]string) ([]Result, error) {
	return c.search(ctx, query, k, filter, false)
}

// SearchKnowledge is Search among the documents of every kind but
// SkillKind: what the catalog knows, apart from the installed methods
// that SearchSkills finds.
func (c *Catalog) SearchKnowledge(ctx context.Context, query string, k int) ([]Result, error) {
	return c.search(ctx, query, k, nil, true)
}

func (c *Catalog) search(ctx context.Context, query string, k int, filter map[string]string, exceptSkills bool) ([]Result, error) {
	if k < 1 {
		return nil, ErrBadLimit
	}
	if blank(query) {
		return nil, fmt.Errorf("%w: query", ErrEmptyText)
	}
	if c.shared {
		if err := c.follow(ctx); err != nil {
			return nil, err
		}
	}
	c.mu.RLock()
	empty := c.chunks == 0
	c.mu.RUnlock()
	if empty {
		return nil, nil
	}
	qv, err := c.embedQuery(ctx, query)
	if err != nil {
		return nil, err
	}
	return c.searchVector(ctx, qv, k, filter, exceptSkills)
}

// embedQuery embeds a query, through the cache.
func (c *Catalog) embedQuery(ctx context.Context, query string) ([]float32, error) {
	key := c.tag + "/" + textHash(query)
	if v, ok := c.cache.get(key); ok {
		return v, nil
	}
	vs, err := c.emb.embedMany(ctx, []string{query}, 1)
	if err != nil {
		return nil, err
	}
	c.cache.put(key, vs[0])
	return vs[0], nil
}

func (c *Catalog) searchVector(ctx context.Context, qv []float32, k int, filter map[string]string, exceptSkills bool) ([]Result, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.dims != 0 && len(qv) != c.dims {
		return nil, &DimensionError{Embedder: c.emb.Name, Want: c.dims, Got: len(qv)}
	}
	var where map[string]string
	for key, v := range filter {
		if key == KeyKind {
			continue
		}
		if where == nil {
			where = map[string]string{}
		}
		where[key] = v
	}
	var cols []*chromem.Collection
	if kind, ok := filter[KeyKind]; ok {
		if col := c.cols[kind]; col != nil {
			cols = append(cols, col)
		}
	} else {
		for _, name := range slices.Sorted(maps.Keys(c.cols)) {
			if exceptSkills && name == SkillKind {
				continue
			}
			cols = append(cols, c.cols[name])
		}
	}
	var out []Result
	for _, col := range cols {
		n := min(k, col.Count())
		if n == 0 {
			continue
		}
		rs, err := col.QueryEmbedding(ctx, qv, n, where, nil)
		if err != nil {
			return nil, fmt.Errorf("memory: search: %w", err)
		}
		for _, r := range rs {
			out = append(out, toResult(r))
		}
	}
	slices.SortFunc(out, func(a, b Result) int {
		if a.Similarity != b.Similarity {
			return cmp.Compare(b.Similarity, a.Similarity)
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if len(out) > k {
		out = out[:k]
	}
	return out, nil
}

func toResult(r chromem.Result) Result {
	m := maps.Clone(r.Metadata)
	i, _ := strconv.Atoi(m[KeyChunk])
	return Result{
		ID:         r.ID,
		DocumentID: m[KeyDocument],
		Chunk:      i,
		Kind:       m[KeyKind],
		Source:     m[KeySource],
		Text:       r.Content,
		Metadata:   m,
		Similarity: r.Similarity,
	}
}

// Stats reports what the index holds now. On a shared image, call Refresh
// first for the committed state of every process's commits.
func (c *Catalog) Stats() Stats {
	c.mu.RLock()
	defer c.mu.RUnlock()
	kinds := map[string]int{}
	for name, col := range c.cols {
		if n := col.Count(); n > 0 {
			kinds[name] = n
		}
	}
	return Stats{Documents: c.live, Chunks: c.chunks, Embedder: c.emb.Name, Dimensions: c.dims, Kinds: kinds}
}

// Embedder returns the catalog's embedder.
func (c *Catalog) Embedder() Embedder { return c.emb }

// session embeds texts for one Add: it finds vectors already known (this
// call, the cache, the image) before asking the model, and remembers which
// are stored in the image.
type session struct {
	c      *Catalog
	tx     *uvm.Tx
	dims   int
	vecs   map[string][]float32
	stored map[string]bool
}

func (c *Catalog) newSession(tx *uvm.Tx, dims int) *session {
	return &session{c: c, tx: tx, dims: dims, vecs: map[string][]float32{}, stored: map[string]bool{}}
}

func (s *session) embed(ctx context.Context, texts []string) ([][]float32, error) {
	c := s.c
	out := make([][]float32, len(texts))
	hashes := make([]string, len(texts))
	var missing []string
	seen := map[string]bool{}
	for i, t := range texts {
		h := textHash(t)
		hashes[i] = h
		if _, ok := s.vecs[h]; ok {
			continue
		}
		b, err := s.tx.GetRecord(c.ns.vec, vecKey(c.tag, h))
		switch {
		case err == nil:
			v, err := decodeVec(c.ns.vec, vecKey(c.tag, h), b)
			if err != nil {
				return nil, err
			}
			if err := s.checkDims(v); err != nil {
				return nil, err
			}
			s.vecs[h] = v
			s.stored[h] = true
			continue
		case !isNotFound(err):
			return nil, err
		}
		if v, ok := c.cache.get(c.tag + "/" + h); ok && (s.dims == 0 || len(v) == s.dims) {
			s.vecs[h] = v
			continue
		}
		if !seen[h] {
			seen[h] = true
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		vs, err := c.emb.embedMany(ctx, missing, c.opts.EmbedBatch)
		if err != nil {
			return nil, err
		}
		for i, v := range vs {
			if err := s.checkDims(v); err != nil {
				return nil, err
			}
			h := textHash(missing[i])
			s.vecs[h] = v
			c.cache.put(c.tag+"/"+h, v)
		}
	}
	for i, h := range hashes {
		out[i] = s.vecs[h]
	}
	return out, nil
}

func (s *session) checkDims(v []float32) error {
	if s.dims == 0 {
		s.dims = len(v)
		return nil
	}
	if len(v) != s.dims {
		return &DimensionError{Embedder: s.c.emb.Name, Want: s.dims, Got: len(v)}
	}
	return nil
}

// vecCache is a bounded FIFO of recent vectors, keyed by tag/hash.
type vecCache struct {
	mu   sync.Mutex
	max  int
	m    map[string][]float32
	ring []string
	next int
}

func newVecCache(max int) *vecCache { return &vecCache{max: max, m: map[string][]float32{}} }

func (vc *vecCache) get(key string) ([]float32, bool) {
	if vc.max <= 0 {
		return nil, false
	}
	vc.mu.Lock()
	defer vc.mu.Unlock()
	v, ok := vc.m[key]
	return v, ok
}

func (vc *vecCache) put(key string, v []float32) {
	if vc.max <= 0 {
		return
	}
	vc.mu.Lock()
	defer vc.mu.Unlock()
	if _, ok := vc.m[key]; ok {
		return
	}
	if len(vc.ring) < vc.max {
		vc.ring = append(vc.ring, key)
	} else {
		delete(vc.m, vc.ring[vc.next])
		vc.ring[vc.next] = key
		vc.next = (vc.next + 1) % vc.max
	}
	vc.m[key] = v
}
