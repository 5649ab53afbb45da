package memory

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/batos-dev/batos/uvm"
)

// Following other processes' commits. On a shared image (uvm.Image.Shared)
// other processes add and delete documents; their commit hooks run in
// their processes, not here. So the index remembers the image's change
// sequence it is up to date with, and every read of the index first
// compares it with the image's: when it moved, Refresh reads the document
// records (one scan, compared by a hash of each record) and indexes what
// changed, with the vectors stored in the image. Follow refreshes as the
// database notifies commits, so that reads seldom wait for a refresh.

// refreshBatch is how many changed documents Refresh reads one by one; past
// it, it reads the chunk and vector namespaces whole.
const refreshBatch = 64

// Leases: the work Open does on the image (re-embedding, cleaning up,
// seeding) is done by one process at a time on a shared image.
const (
	leaseTTL  = 15 * time.Second       // renewed every third of it while held
	leasePoll = 100 * time.Millisecond // how often a waiting Open looks again
)

// leaseHolder names a catalog as a lease holder: the process and a random
// number, so that two catalogs of one process are two holders.
func leaseHolder() string {
	return fmt.Sprintf("memory catalog, pid %d, %016x", os.Getpid(), rand.Uint64())
}

// exclusive runs fn when needed says so. On a shared image it first takes
// the namespace's lease (waiting while another process holds it, and
// asking needed again meanwhile, since the holder may be doing the very
// same work) and asks needed once more under it.
func (c *Catalog) exclusive(ctx context.Context, needed func(context.Context) (bool, error), fn func(context.Context) error) error {
	ok, err := needed(ctx)
	if err != nil || !ok {
		return err
	}
	if !c.shared {
		return fn(ctx)
	}
	name := "memory/" + c.opts.Namespace
	for {
		got, holder, err := c.im.TryLease(ctx, name, c.holder, leaseTTL)
		if err != nil {
			return fmt.Errorf("memory: %w", err)
		}
		if got {
			break
		}
		c.log.Debug("memory: waiting for another process's work on the catalog", "holder", holder)
		select {
		case <-ctx.Done():
			return fmt.Errorf("memory: waiting for %s: %w", holder, ctx.Err())
		case <-time.After(leasePoll):
		}
		if ok, err := needed(ctx); err != nil || !ok {
			return err
		}
	}
	rctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(leaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-rctx.Done():
				return
			case <-t.C:
			}
			if got, holder, err := c.im.TryLease(rctx, name, c.holder, leaseTTL); err == nil && !got {
				c.log.Warn("memory: lost the catalog's lease", "holder", holder)
			}
		}
	})
	defer func() {
		stop()
		wg.Wait()
		if err := c.im.ReleaseLease(context.WithoutCancel(ctx), name, c.holder); err != nil {
			c.log.Warn("memory: releasing the catalog's lease", "err", err)
		}
	}()
	if ok, err := needed(ctx); err != nil || !ok {
		return err
	}
	return fn(ctx)
}

// Refresh brings the index up to date with the documents committed to the
// image, by this process or by another one sharing the image: it indexes
// the documents added or changed since the index last saw them and drops
// the deleted ones. It never calls the embedder: the vectors are in the
// image. When nothing changed it reads the document records (and, on a
// shared image whose change sequence has not moved since the last
// refresh, not even those).
//
// On a shared image, Search calls it when needed, so a caller need not;
// Follow calls it as other processes commit. On an image only this
// process opens the commit hooks keep the index up to date, and Refresh
// matters only for a second Catalog of the same image and namespace in
// the same process, or after the image was changed behind the catalog's
// back (a restore).
//
// A changed document whose records cannot be read (damaged, or chunks or
// vectors missing) keeps what the index held of it, and is logged; a
// damaged record that stops the scan of the document records fails
// Refresh (Open repairs the catalog). If another process has switched the
// image to another embedder, Refresh fails with an *EmbedderMismatchError:
// open the catalog again.
func (c *Catalog) Refresh(ctx context.Context) error {
	if c.shared {
		return c.follow(ctx)
	}
	return c.refreshTo(ctx, 0)
}

// Follow keeps the index up to date with other processes' commits to a
// shared image as the database announces them (uvm.Image.Follow), until
// ctx ends; run it in a goroutine of its own. Searches are never stale
// without it (they refresh when the image's change sequence moved); with
// it they seldom wait for a refresh. A failed refresh is logged and
// tried again at the next commit or search. On an image no other process
// shares, Follow returns at once.
func (c *Catalog) Follow(ctx context.Context) error {
	return c.im.Follow(ctx, func(seq uint64) {
		if err := c.refreshTo(ctx, seq); err != nil && ctx.Err() == nil {
			c.log.Warn("memory: refresh failed", "err", err)
		}
	})
}

// follow refreshes the index of a shared image if the image's change
// sequence moved since the index was last up to date.
func (c *Catalog) follow(ctx context.Context) error {
	seq, err := c.im.ChangeSeq(ctx)
	if err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	if seq <= c.seq.Load() {
		return nil
	}
	return c.refreshTo(ctx, seq)
}

// refreshTo refreshes the index and records it as up to date with seq, a
// change sequence read before (so that every commit it counts is in the
// refresh's snapshot). A refresh to a later sequence that ran while this
// one waited makes it unnecessary.
func (c *Catalog) refreshTo(ctx context.Context, seq uint64) error {
	c.refreshing.Lock()
	defer c.refreshing.Unlock()
	if c.shared && seq <= c.seq.Load() {
		return nil
	}
	if err := c.refresh(ctx); err != nil {
		return err
	}
	if c.shared {
		c.seq.Store(seq)
	}
	return nil
}

// fresh is what refresh read of a changed document.
type fresh struct {
	id    string
	rec   docRecord
	sum   uint64
	texts []string
	vecs  [][]float32
}

// refresh reads what changed in one snapshot of the image and applies it
// to the index. c.refreshing is held.
func (c *Catalog) refresh(ctx context.Context) error {
	c.mu.RLock()
	hooks := c.hooks // hooks applied after this may be newer than the snapshot
	c.mu.RUnlock()
	var (
		dims    int
		changed []fresh
		gone    []string
	)
	err := c.view(ctx, func(tx *uvm.Tx) error {
		changed, gone = changed[:0], gone[:0]
		meta, err := c.currentMeta(tx)
		if err != nil {
			return err
		}
		dims = meta.Dims
		seen := 0
		err = tx.ScanRecords(c.ns.doc, "", func(id string, val []byte) error {
			sum := maphash.Bytes(c.sums, val)
			c.mu.RLock()
			cur, ok := c.docs[id]
			c.mu.RUnlock()
			if ok {
				seen++
				if cur.sum == sum {
					return nil
				}
			}
			var d docRecord
			if err := decodeJSON(c.ns.doc, id, val, &d); err != nil {
				c.log.Warn("memory: refresh: damaged document record", "document", id, "err", err)
				return nil
			}
			changed = append(changed, fresh{id: id, rec: d, sum: sum})
			return nil
		})
		if err != nil {
			return err
		}
		c.mu.RLock()
		missing := seen < len(c.docs)
		c.mu.RUnlock()
		if missing {
			// Some documents the index holds are not in the image (or
			// were indexed by a hook after the snapshot): list them.
			in := map[string]bool{}
			if err := tx.RecordKeys(c.ns.doc, "", func(id string) error { in[id] = true; return nil }); err != nil {
				return err
			}
			c.mu.RLock()
			for id := range c.docs {
				if !in[id] {
					gone = append(gone, id)
				}
			}
			c.mu.RUnlock()
		}
		return c.readChanged(tx, dims, changed)
	})
	if err != nil {
		return fmt.Errorf("memory: refresh: %w", err)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dims == 0 {
		c.dims = dims
	}
	for _, f := range changed {
		cur, ok := c.docs[f.id]
		if ok && cur.hook > hooks {
			continue // a commit hook of this process ran after the snapshot
		}
		switch {
		case f.rec.Deleted:
			c.unindex(f.id, cur)
			c.docs[f.id] = indexed{gen: f.rec.Gen, sum: f.sum}
		case f.texts == nil:
			// Damaged chunks or vectors (logged): keep what the index holds.
		default:
			c.unindex(f.id, cur)
			c.index(f.id, f.rec.Gen, f.rec.Kind, chunkMeta(f.id, f.rec), f.texts, f.vecs)
			e := c.docs[f.id]
			e.sum = f.sum
			c.docs[f.id] = e
		}
	}
	for _, id := range gone {
		cur := c.docs[id]
		if cur.hook > hooks {
			continue
		}
		c.unindex(id, cur)
		delete(c.docs, id)
	}
	return nil
}

// readChanged reads the chunks and vectors of the changed live documents
// into them. A document whose chunks or vectors are damaged or missing is
// logged and left without texts.
func (c *Catalog) readChanged(tx *uvm.Tx, dims int, changed []fresh) error {
	want := map[string]bool{}
	for i := range changed {
		changed[i].texts, changed[i].vecs = nil, nil
		if !changed[i].rec.Deleted {
			want[changed[i].id] = true
		}
	}
	if len(want) == 0 {
		return nil
	}
	r := chunkReader{c: c, tx: tx, chunks: map[string][]storedChunk{}, bad: map[string]error{}, vecs: map[string][]float32{}}
	if err := r.read(want); err != nil {
		return err
	}
	for i := range changed {
		f := &changed[i]
		if f.rec.Deleted {
			continue
		}
		texts, vecs, err := r.document(f.id, f.rec.Chunks, dims)
		if err != nil {
			c.log.Warn("memory: refresh: document not indexed", "document", f.id, "err", err)
			continue
		}
		f.texts, f.vecs = texts, vecs
	}
	return nil
}

// chunkReader reads the chunks and vectors of some documents in one
// transaction.
type chunkReader struct {
	c      *Catalog
	tx     *uvm.Tx
	chunks map[string][]storedChunk
	bad    map[string]error // documents with a damaged chunk record
	vecs   map[string][]float32
}

// read reads the chunks of the documents in want and their vectors: a
// few documents one by one, many in a scan of the namespaces (and one by
// one after all if a damaged record stops the scan).
func (r *chunkReader) read(want map[string]bool) error {
	c, tx := r.c, r.tx
	if len(want) > refreshBatch {
		err := tx.ScanRecords(c.ns.chunk, "", func(key string, val []byte) error {
			if id, _, ok := splitChunkKey(key); ok && want[id] {
				r.keep(key, val)
			}
			return nil
		})
		if err == nil {
			hashes := r.hashes()
			err = tx.ScanRecords(c.ns.vec, c.tag+"/", func(key string, val []byte) error {
				if h := key[len(c.tag)+1:]; hashes[h] {
					if v, err := decodeVec(c.ns.vec, key, val); err == nil {
						r.vecs[h] = v
					}
				}
				return nil
			})
			if err == nil {
				return nil
			}
		}
		if !damage(err) {
			return err
		}
		clear(r.chunks)
		clear(r.bad)
		clear(r.vecs)
	}
	for id := range want {
		err := tx.ScanRecords(c.ns.chunk, docChunkPrefix(id), func(key string, val []byte) error {
			r.keep(key, val)
			return nil
		})
		switch {
		case damage(err):
			r.bad[id] = err
		case err != nil:
			return err
		}
	}
	for h := range r.hashes() {
		b, err := tx.GetRecord(c.ns.vec, vecKey(c.tag, h))
		switch {
		case err == nil:
			if v, err := decodeVec(c.ns.vec, vecKey(c.tag, h), b); err == nil {
				r.vecs[h] = v
			}
		case !isNotFound(err) && !damage(err):
			return err
		}
	}
	return nil
}

// keep files a chunk record under its document.
func (r *chunkReader) keep(key string, val []byte) {
	id, i, ok := splitChunkKey(key)
	if !ok {
		return // not a chunk's key: repair deletes it at the next Open
	}
	var rec chunkRecord
	if err := decodeJSON(r.c.ns.chunk, key, val, &rec); err != nil {
		r.bad[id] = err
		return
	}
	r.chunks[id] = append(r.chunks[id], storedChunk{i, rec})
}

// hashes returns the text hashes of the chunks read.
func (r *chunkReader) hashes() map[string]bool {
	out := map[string]bool{}
	for _, cs := range r.chunks {
		for _, ch := range cs {
			out[ch.rec.Hash] = true
		}
	}
	return out
}

// document returns a document's chunk texts and vectors, in order, or why
// they cannot be indexed.
func (r *chunkReader) document(id string, n, dims int) ([]string, [][]float32, error) {
	c := r.c
	if err := r.bad[id]; err != nil {
		return nil, nil, err
	}
	cs := r.chunks[id]
	slices.SortFunc(cs, func(a, b storedChunk) int { return a.i - b.i })
	if !complete(cs, n) {
		return nil, nil, corrupt(c.ns.doc, id, fmt.Sprintf("%d chunks stored, %d recorded", len(cs), n))
	}
	texts := make([]string, n)
	vecs := make([][]float32, n)
	for j, ch := range cs {
		v, ok := r.vecs[ch.rec.Hash]
		if !ok {
			return nil, nil, corrupt(c.ns.vec, vecKey(c.tag, ch.rec.Hash), "missing or damaged vector for chunk "+chunkID(id, j))
		}
		if dims != 0 && len(v) != dims {
			return nil, nil, &DimensionError{Embedder: c.emb.Name, Want: dims, Got: len(v)}
		}
		texts[j], vecs[j] = ch.rec.Text, v
	}
	return texts, vecs, nil
}

// view runs a read-only transaction, again after a conflict: a
// serializable database may abort even a reader.
func (c *Catalog) view(ctx context.Context, fn func(*uvm.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := c.im.View(ctx, fn)
		if !errors.Is(err, uvm.ErrConflict) || attempt >= 3 {
			return err
		}
	}
}
