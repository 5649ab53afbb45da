package memory

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/batos-dev/batos/uvm"
)

// reembedBatch is how many texts one re-embedding transaction writes.
const reembedBatch = 256

// cleanupBatch is how many stale vectors one cleanup transaction deletes.
const cleanupBatch = 2048

// reembed embeds every stored chunk text with the catalog's embedder, under
// its own tag, then switches the meta record to it and schedules the old
// vectors for deletion. Vectors already made under the new tag (by an
// interrupted earlier run) are kept: nothing is embedded twice.
func (c *Catalog) reembed(ctx context.Context, old metaRecord) error {
	c.log.Info("memory: re-embedding the catalog", "from", old.Embedder, "to", c.emb.Name)
	texts := map[string]string{}
	err := c.im.View(ctx, func(tx *uvm.Tx) error {
		return tx.ScanRecords(c.ns.chunk, "", func(key string, val []byte) error {
			var r chunkRecord
			if err := decodeJSON(c.ns.chunk, key, val, &r); err != nil {
				return err
			}
			texts[r.Hash] = r.Text
			return nil
		})
	})
	if err != nil {
		return err
	}
	hashes := slices.Sorted(maps.Keys(texts))
	dims := c.emb.Dimensions
	done := 0
	for start := 0; start < len(hashes); start += reembedBatch {
		batch := hashes[start:min(start+reembedBatch, len(hashes))]
		var missing []string
		err := c.im.View(ctx, func(tx *uvm.Tx) error {
			missing = missing[:0]
			for _, h := range batch {
				b, err := tx.GetRecord(c.ns.vec, vecKey(c.tag, h))
				if isNotFound(err) {
					missing = append(missing, h)
					continue
				}
				if err != nil {
					return err
				}
				v, err := decodeVec(c.ns.vec, vecKey(c.tag, h), b)
				if err != nil {
					return err
				}
				if dims == 0 {
					dims = len(v)
				} else if len(v) != dims {
					return &DimensionError{Embedder: c.emb.Name, Want: dims, Got: len(v)}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(missing) == 0 {
			continue
		}
		in := make([]string, len(missing))
		for i, h := range missing {
			in[i] = texts[h]
		}
		vecs, err := c.emb.embedMany(ctx, in, c.opts.EmbedBatch)
		if err != nil {
			return err
		}
		for _, v := range vecs {
			if dims == 0 {
				dims = len(v)
			} else if len(v) != dims {
				return &DimensionError{Embedder: c.emb.Name, Want: dims, Got: len(v)}
			}
		}
		err = c.im.Update(ctx, func(tx *uvm.Tx) error {
			for i, h := range missing {
				if err := tx.PutRecord(c.ns.vec, vecKey(c.tag, h), encodeVec(vecs[i])); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		done += len(missing)
		c.log.Info("memory: re-embedded", "texts", done, "of", len(hashes))
	}
	return c.im.Update(ctx, func(tx *uvm.Tx) error {
		m, ok, err := c.ns.readMeta(tx)
		if err != nil {
			return err
		}
		if ok && m.Tag == c.tag {
			return nil // another process (whose lease expired) finished first
		}
		if !ok || m.Tag != old.Tag {
			return fmt.Errorf("memory: re-embed: the catalog's embedder changed under us")
		}
		// Every chunk must now have a vector under the new tag.
		err = tx.ScanRecords(c.ns.chunk, "", func(key string, val []byte) error {
			var r chunkRecord
			if err := decodeJSON(c.ns.chunk, key, val, &r); err != nil {
				return err
			}
			if _, err := tx.GetRecord(c.ns.vec, vecKey(c.tag, r.Hash)); err != nil {
				if isNotFound(err) {
					return fmt.Errorf("memory: re-embed: chunk %q changed during re-embedding; open again", key)
				}
				return err
			}
			return nil
		})
		if err != nil {
			return err
		}
		cleanup := slices.DeleteFunc(slices.Clone(m.Cleanup), func(t string) bool { return t == c.tag })
		cleanup = append(cleanup, m.Tag)
		return c.ns.writeMeta(tx, metaRecord{Embedder: c.emb.Name, Dims: dims, Tag: c.tag, Cleanup: cleanup})
	})
}

// cleanup deletes the vectors of embedders the catalog no longer uses, in
// transactions of at most cleanupBatch deletions, then forgets their tags.
func (c *Catalog) cleanup(ctx context.Context) error {
	var tags []string
	err := c.im.View(ctx, func(tx *uvm.Tx) error {
		m, err := c.currentMeta(tx)
		tags = m.Cleanup
		return err
	})
	if err != nil || len(tags) == 0 {
		return err
	}
	for _, tag := range tags {
		if tag == c.tag {
			continue
		}
		for {
			n := 0
			err := c.im.Update(ctx, func(tx *uvm.Tx) error {
				var keys []string
				err := tx.RecordKeys(c.ns.vec, tag+"/", func(key string) error { // keys only: damaged ones go too
					keys = append(keys, key)
					if len(keys) == cleanupBatch {
						return errStop
					}
					return nil
				})
				if err != nil && !errors.Is(err, errStop) {
					return err
				}
				for _, k := range keys {
					if err := tx.DeleteRecord(c.ns.vec, k); err != nil {
						return err
					}
				}
				n = len(keys)
				return nil
			})
			if err != nil {
				return err
			}
			if n < cleanupBatch {
				break
			}
		}
	}
	return c.im.Update(ctx, func(tx *uvm.Tx) error {
		m, err := c.currentMeta(tx)
		if err != nil {
			return err
		}
		// Forget only the tags cleaned here: another process may have
		// scheduled more since.
		m.Cleanup = slices.DeleteFunc(m.Cleanup, func(t string) bool { return t == c.tag || slices.Contains(tags, t) })
		if len(m.Cleanup) == 0 {
			m.Cleanup = nil
		}
		return c.ns.writeMeta(tx, m)
	})
}
