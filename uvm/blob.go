package uvm

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
)

// BlobChunkSize is the size of the chunks a blob is stored in.
const BlobChunkSize = 1<<20 - 64 // a chunk and its frame stay within Badger's 1 MiB value limit (in-memory images)

// chunksPerTx is how many chunks PutBlob writes in one transaction: up to
// four, as many as fit the transaction size Badger allows (about 15% of
// the memtable).
func (im *Image) chunksPerTx() int {
	return min(4, max(1, int(im.opts.MemTableSize*15/100/(BlobChunkSize+64))))
}

func chunkKey(id string, n int) []byte {
	k := append([]byte{pfxChunk}, id...)
	return binary.BigEndian.AppendUint32(append(k, 0), uint32(n))
}

func blobKey(id string) []byte { return append([]byte{pfxBlob}, id...) }

// PutBlob stores the content of r as a blob and returns its reference, for
// keeping in a slot. Blobs are content-addressed (SHA-256): storing the same
// bytes twice stores them once. Large blobs are written in several
// transactions, chunk by chunk, and become visible only when the last one
// commits, so a blob is either whole or absent.
func (im *Image) PutBlob(ctx context.Context, r io.Reader) (BlobRef, error) {
	// Hash first (content address), spooling to a temp file so that a blob
	// larger than memory is fine.
	tmp, err := os.CreateTemp("", "uvm-blob-*")
	if err != nil {
		return BlobRef{}, fmt.Errorf("uvm: put blob: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	size, err := io.Copy(io.MultiWriter(h, tmp), r)
	if err != nil {
		return BlobRef{}, fmt.Errorf("uvm: put blob: read: %w", err)
	}
	ref := BlobRef{ID: hex.EncodeToString(h.Sum(nil)), Size: size}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return BlobRef{}, fmt.Errorf("uvm: put blob: %w", err)
	}
	exists := false
	if err := im.View(ctx, func(tx *Tx) error {
		raw, err := tx.get(blobKey(ref.ID))
		exists = raw != nil
		return err
	}); err != nil || exists {
		return ref, err
	}
	buf := make([]byte, BlobChunkSize)
	n := 0
	for done := false; !done; {
		err := im.Update(ctx, func(tx *Tx) error {
			for range im.chunksPerTx() {
				k, err := io.ReadFull(tmp, buf)
				if k > 0 {
					if err := tx.set(chunkKey(ref.ID, n), frame(buf[:k])); err != nil {
						return err
					}
					n++
				}
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					done = true
					man := binary.AppendVarint(nil, size)
					man = binary.AppendUvarint(man, uint64(n))
					return tx.set(blobKey(ref.ID), frame(man))
				}
				if err != nil {
					return fmt.Errorf("uvm: put blob: %w", err)
				}
			}
			return nil
		})
		if err != nil {
			return BlobRef{}, err
		}
	}
	return ref, nil
}

// ReadBlob writes the blob's content to w, checking every chunk's checksum
// and the whole content's SHA-256.
func (tx *Tx) ReadBlob(ref BlobRef, w io.Writer) error {
	if err := tx.check(false); err != nil {
		return err
	}
	mk := blobKey(ref.ID)
	raw, err := tx.get(mk)
	if err != nil {
		return err
	}
	if raw == nil {
		return &NotFoundError{Kind: "blob", Name: ref.ID}
	}
	man, cerr := unframe(mk, raw)
	if cerr != nil {
		return cerr
	}
	size, a := binary.Varint(man)
	chunks, b := binary.Uvarint(man[max(a, 0):])
	if a <= 0 || b <= 0 {
		return &CorruptError{Key: printableKey(mk), Reason: "bad blob manifest"}
	}
	h := sha256.New()
	var total int64
	for i := range int(chunks) {
		ck := chunkKey(ref.ID, i)
		raw, err := tx.get(ck)
		if err != nil {
			return err
		}
		if raw == nil {
			return &CorruptError{Key: printableKey(ck), Reason: fmt.Sprintf("blob %s: chunk %d missing", ref.ID, i)}
		}
		p, cerr := unframe(ck, raw)
		if cerr != nil {
			return cerr
		}
		h.Write(p)
		total += int64(len(p))
		if _, err := w.Write(p); err != nil {
			return fmt.Errorf("uvm: read blob %s: %w", ref.ID, err)
		}
	}
	if total != size || hex.EncodeToString(h.Sum(nil)) != ref.ID {
		return &CorruptError{Key: printableKey(mk), Reason: fmt.Sprintf("blob %s: content does not match its address", ref.ID)}
	}
	return nil
}
