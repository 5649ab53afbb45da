package memory

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/batos-dev/batos/uvm"
)

// damage reports whether err says a record is damaged (in the image's own
// checks, or in what the catalog reads from it).
func damage(err error) bool {
	return errors.Is(err, uvm.ErrCorrupt) || errors.Is(err, ErrCorrupt) || errors.Is(err, ErrDimension)
}

// repair drops what is damaged among the catalog's derived records, in one
// transaction, so that rebuild can index the rest. Vectors are derived from
// the chunks' texts: a damaged one is embedded again. A chunk holds the
// only copy of its text: a document with a damaged or missing chunk, or a
// damaged record of its own, is dropped (deleted with its chunks) and must
// be added again. Chunks of no document are deleted. Each repair is logged
// as a warning once the transaction commits.
func (c *Catalog) repair(ctx context.Context) error {
	var notes []string
	err := c.im.Update(ctx, func(tx *uvm.Tx) error {
		notes = notes[:0]
		note := func(format string, args ...any) { notes = append(notes, fmt.Sprintf(format, args...)) }
		meta, err := c.currentMeta(tx)
		if err != nil {
			return err
		}
		docs, badDocs, err := c.readDocs(tx)
		if err != nil {
			return err
		}
		chunks, badChunks, err := c.readChunks(tx, note)
		if err != nil {
			return err
		}
		vecs, err := c.goodVectors(tx, meta.Dims, note)
		if err != nil {
			return err
		}

		var texts []string
		for _, id := range slices.Sorted(maps.Keys(unionKeys(docs, badDocs, chunks, badChunks))) {
			d, ok := docs[id]
			why := badDocs[id]
			switch {
			case why != "":
			case !ok || d.Deleted:
				if len(chunks[id]) > 0 || badChunks[id] != "" {
					why = "chunks of a missing or deleted document"
				}
			case badChunks[id] != "":
				why = badChunks[id] + ", and its text with it"
			case !complete(chunks[id], d.Chunks):
				why = fmt.Sprintf("%d chunks stored, %d recorded", len(chunks[id]), d.Chunks)
			}
			if why == "" {
				for _, ch := range chunks[id] {
					if !vecs[ch.rec.Hash] {
						texts = append(texts, ch.rec.Text)
						vecs[ch.rec.Hash] = true
					}
				}
				continue
			}
			record := keepRecord
			switch {
			case badDocs[id] != "":
				record = deleteRecord
			case ok && !d.Deleted:
				record = tombstone
			}
			var hashes []string
			for _, ch := range chunks[id] {
				hashes = append(hashes, ch.rec.Hash)
			}
			if err := c.dropDocument(tx, id, d, record, hashes); err != nil {
				return err
			}
			if record != keepRecord {
				note("memory: dropped document %q: %s; add it again", id, why)
			} else {
				note("memory: deleted the %s of document %q", why, id)
			}
		}
		if len(texts) > 0 {
			s := c.newSession(tx, meta.Dims)
			vs, err := s.embed(ctx, texts)
			if err != nil {
				return err
			}
			for i, t := range texts {
				if err := tx.PutRecord(c.ns.vec, vecKey(c.tag, textHash(t)), encodeVec(vs[i])); err != nil {
					return err
				}
			}
			note("memory: re-embedded %d chunk texts whose vectors were damaged or missing", len(texts))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("memory: repair: %w", err)
	}
	for _, n := range notes {
		c.log.Warn(n)
	}
	return nil
}

// storedChunk is a chunk record as read, with its index.
type storedChunk struct {
	i   int
	rec chunkRecord
}

// readDocs reads every document record; a damaged one is listed with why.
func (c *Catalog) readDocs(tx *uvm.Tx) (map[string]docRecord, map[string]string, error) {
	docs, bad := map[string]docRecord{}, map[string]string{}
	err := tx.RecordKeys(c.ns.doc, "", func(id string) error {
		d, _, err := c.ns.readDoc(tx, id)
		switch {
		case damage(err):
			bad[id] = "its record is damaged"
		case err != nil:
			return err
		default:
			docs[id] = d
		}
		return nil
	})
	return docs, bad, err
}

// readChunks reads every chunk record, by document; a document with a
// damaged chunk is listed with why. Records under keys that are not chunk
// keys are deleted.
func (c *Catalog) readChunks(tx *uvm.Tx, note func(string, ...any)) (map[string][]storedChunk, map[string]string, error) {
	chunks, bad := map[string][]storedChunk{}, map[string]string{}
	var strays []string
	err := tx.RecordKeys(c.ns.chunk, "", func(key string) error {
		id, i, ok := splitChunkKey(key)
		if !ok {
			strays = append(strays, key)
			return nil
		}
		b, err := tx.GetRecord(c.ns.chunk, key)
		var r chunkRecord
		if err == nil {
			err = decodeJSON(c.ns.chunk, key, b, &r)
		}
		switch {
		case damage(err):
			if bad[id] == "" {
				bad[id] = fmt.Sprintf("chunk %d is damaged", i)
			}
		case err != nil:
			return err
		default:
			chunks[id] = append(chunks[id], storedChunk{i, r})
		}
		return nil
	})
	for _, k := range strays {
		if err := tx.DeleteRecord(c.ns.chunk, k); err != nil {
			return nil, nil, err
		}
		note("memory: deleted a chunk record under a key that is not a chunk's: %q", k)
	}
	return chunks, bad, err
}

// goodVectors returns the text hashes whose vector (under this catalog's
// embedder) is intact, and deletes the damaged ones.
func (c *Catalog) goodVectors(tx *uvm.Tx, dims int, note func(string, ...any)) (map[string]bool, error) {
	good := map[string]bool{}
	var bad []string
	var why []error
	prefix := c.tag + "/"
	err := tx.RecordKeys(c.ns.vec, prefix, func(key string) error {
		b, err := tx.GetRecord(c.ns.vec, key)
		if err == nil {
			var v []float32
			v, err = decodeVec(c.ns.vec, key, b)
			if err == nil && dims != 0 && len(v) != dims {
				err = &DimensionError{Embedder: c.emb.Name, Want: dims, Got: len(v)}
			}
		}
		switch {
		case damage(err):
			bad = append(bad, key)
			why = append(why, err)
		case err != nil:
			return err
		default:
			good[key[len(prefix):]] = true
		}
		return nil
	})
	for i, k := range bad {
		if err := tx.DeleteRecord(c.ns.vec, k); err != nil {
			return nil, err
		}
		note("memory: deleted damaged vector %s/%s: %v", c.ns.vec, k, why[i])
	}
	return good, err
}

// complete reports whether chunks are exactly 0..n-1.
func complete(chunks []storedChunk, n int) bool {
	if len(chunks) != n {
		return false
	}
	for j, ch := range chunks {
		if ch.i != j {
			return false
		}
	}
	return true
}

// What dropDocument does with the document's own record.
const (
	keepRecord   = iota // a tombstone already, or none
	tombstone           // a live document: it becomes a tombstone
	deleteRecord        // damaged: its generation is unknown
)

// dropDocument deletes a document's chunks, their references and the
// vectors (of hashes, its readable chunks' texts) nothing else uses.
func (c *Catalog) dropDocument(tx *uvm.Tx, id string, d docRecord, record int, hashes []string) error {
	var keys []string
	if err := tx.RecordKeys(c.ns.chunk, docChunkPrefix(id), func(k string) error { keys = append(keys, k); return nil }); err != nil {
		return err
	}
	for _, k := range keys {
		if err := tx.DeleteRecord(c.ns.chunk, k); err != nil {
			return err
		}
	}
	// References are keyed by text hash first; the damaged chunks' hashes
	// are unknown, so look at them all.
	var refs []string
	suffix := "\x00" + docChunkPrefix(id)
	err := tx.RecordKeys(c.ns.ref, "", func(k string) error {
		if j := len(k) - len(suffix) - 6; j >= 0 && k[j:j+len(suffix)] == suffix {
			refs = append(refs, k)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range refs {
		if err := tx.DeleteRecord(c.ns.ref, k); err != nil {
			return err
		}
	}
	old := map[string]bool{}
	for _, h := range hashes {
		old[h] = true
	}
	if err := c.dropUnused(tx, old, nil); err != nil {
		return err
	}
	switch record {
	case deleteRecord:
		return tx.DeleteRecord(c.ns.doc, id)
	case tombstone:
		return tx.PutRecord(c.ns.doc, id, encodeJSON(docRecord{Gen: d.Gen + 1, Deleted: true}))
	}
	return nil
}

func unionKeys[V1, V2, V3, V4 any](a map[string]V1, b map[string]V2, c map[string]V3, d map[string]V4) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	for k := range c {
		out[k] = true
	}
	for k := range d {
		out[k] = true
	}
	return out
}
