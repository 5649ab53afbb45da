package uvm

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/batos-dev/batos/uvm/store"
)

// errStopScan ends a scan early; it never leaves the function that scans.
var errStopScan = errors.New("uvm: scan stopped")

// The backup format: the magic line, then records (uvarint key length,
// key, uvarint value length, value), then a zero key length and the
// CRC32C of everything before it. Values are copied as stored, framed and
// checksummed, so a restored image is byte-identical to its source.
var backupMagic = []byte("batos-image-backup 1\n")

// Backup writes a full, consistent copy of the image to w.
func (im *Image) Backup(ctx context.Context, w io.Writer) error {
	if err := im.enter(); err != nil {
		return err
	}
	defer im.leave()
	bw := bufio.NewWriter(w)
	crc := crc32.New(castagnoli)
	out := io.MultiWriter(bw, crc)
	if _, err := out.Write(backupMagic); err != nil {
		return fmt.Errorf("uvm: backup: %w", err)
	}
	var num []byte
	put := func(b []byte) error {
		num = binary.AppendUvarint(num[:0], uint64(len(b)))
		if _, err := out.Write(num); err != nil {
			return err
		}
		_, err := out.Write(b)
		return err
	}
	err := im.scanAll(ctx, func(k, v []byte) error {
		if err := put(k); err != nil {
			return err
		}
		return put(v)
	})
	if err == nil {
		_, err = out.Write([]byte{0})
	}
	if err == nil {
		_, err = bw.Write(binary.LittleEndian.AppendUint32(nil, crc.Sum32()))
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("uvm: backup: %w", err)
	}
	return nil
}

// ErrBadBackup is returned by Restore when the stream is not a complete,
// intact backup. Nothing is written in that case.
var ErrBadBackup = errors.New("uvm: not a valid image backup")

// Restore loads a backup written by Backup into this image, which must hold
// no objects yet (a freshly opened image). The stream is verified in full
// before anything is written, so a truncated or damaged backup leaves the
// image as it was.
func (im *Image) Restore(ctx context.Context, r io.Reader) error {
	if err := im.enter(); err != nil {
		return err
	}
	defer im.leave()
	empty := true
	if err := im.View(ctx, func(tx *Tx) error {
		err := tx.txn.Scan([]byte{pfxObject}, false, func([]byte, []byte) error {
			empty = false
			return errStopScan
		})
		if errors.Is(err, errStopScan) {
			err = nil
		}
		return err
	}); err != nil {
		return fmt.Errorf("uvm: restore: %w", err)
	}
	if !empty {
		return ErrNotEmpty
	}
	// Spool and verify first.
	tmp, err := os.CreateTemp("", "uvm-restore-*")
	if err != nil {
		return fmt.Errorf("uvm: restore: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if _, err := io.Copy(tmp, r); err != nil {
		return fmt.Errorf("uvm: restore: read: %w", err)
	}
	if err := scanBackup(ctx, tmp, nil); err != nil {
		return err
	}
	// Apply in batches that fit a transaction.
	var seqFloor uint64
	wb := im.st.NewBatch()
	defer wb.Cancel()
	// Verified: apply in full, whatever the context says now, so the image
	// is never left half restored by a cancellation.
	err = scanBackup(context.WithoutCancel(ctx), tmp, func(k, v []byte) error {
		if bytes.Equal(k, keyOIDSeq) {
			if len(v) == 8 {
				seqFloor = max(seqFloor, binary.BigEndian.Uint64(v))
			}
			return nil
		}
		if len(k) == 9 && k[0] == pfxObject {
			seqFloor = max(seqFloor, binary.BigEndian.Uint64(k[1:])+1)
		}
		return wb.Set(bytes.Clone(k), bytes.Clone(v))
	})
	if err == nil {
		err = wb.Flush()
	}
	if err != nil {
		return fmt.Errorf("uvm: restore: %w", err)
	}
	return im.raiseSequence(seqFloor)
}

// raiseSequence makes the OID sequence continue at or above floor, and
// everything written until then durable.
func (im *Image) raiseSequence(floor uint64) error {
	im.seqMu.Lock()
	defer im.seqMu.Unlock()
	if err := im.seq.Release(); err != nil {
		return fmt.Errorf("uvm: restore: %w", err)
	}
	err := im.storeUpdate(func(txn store.Txn) error {
		cur := uint64(0)
		v, _, _, err := txn.Get(keyOIDSeq, nil)
		if err != nil {
			return err
		}
		if len(v) == 8 {
			cur = binary.BigEndian.Uint64(v)
		}
		return txn.Set(keyOIDSeq, binary.BigEndian.AppendUint64(nil, max(cur, floor)))
	})
	if err != nil {
		return fmt.Errorf("uvm: restore: oid sequence: %w", err)
	}
	if im.seq, err = im.st.Sequence(keyOIDSeq, 256); err != nil {
		return fmt.Errorf("uvm: restore: oid sequence: %w", err)
	}
	// The batches written before it and this transaction are durable
	// once a sync has covered them (groupsync.go).
	if err := im.durable.wait(true); err != nil {
		return fmt.Errorf("uvm: restore: %w", err)
	}
	return nil
}

// scanBackup reads a spooled backup from the start, checking its framing
// and checksum; with fn non-nil it hands each record on.
func scanBackup(ctx context.Context, f io.ReadSeeker, fn func(k, v []byte) error) error {
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("uvm: restore: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("uvm: restore: %w", err)
	}
	crc := crc32.New(castagnoli)
	br := bufio.NewReader(f)
	tr := io.TeeReader(br, crc)
	bad := func(why string) error { return fmt.Errorf("%w: %s", ErrBadBackup, why) }
	magic := make([]byte, len(backupMagic))
	if _, err := io.ReadFull(tr, magic); err != nil || !bytes.Equal(magic, backupMagic) {
		return bad("missing header")
	}
	byteReader := &teeByteReader{r: br, crc: crc}
	var k, v []byte
	read := func(buf []byte) ([]byte, error) {
		n, err := binary.ReadUvarint(byteReader)
		if err != nil {
			return nil, err
		}
		if n > 1<<31 || n > uint64(size) { // no record is longer than the stream
			return nil, errors.New("length too large")
		}
		buf = append(buf[:0], make([]byte, n)...)
		_, err = io.ReadFull(tr, buf)
		return buf, err
	}
	for i := 0; ; i++ {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		var err error
		if k, err = read(k); err != nil {
			return bad("truncated")
		}
		if len(k) == 0 {
			break
		}
		if v, err = read(v); err != nil {
			return bad("truncated")
		}
		if fn != nil {
			if err := fn(k, v); err != nil {
				return err
			}
		}
	}
	want := crc.Sum32()
	var sum [4]byte
	if _, err := io.ReadFull(br, sum[:]); err != nil {
		return bad("missing checksum")
	}
	if binary.LittleEndian.Uint32(sum[:]) != want {
		return bad("checksum mismatch")
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return bad("trailing data")
	}
	return nil
}

type teeByteReader struct {
	r   *bufio.Reader
	crc io.Writer
}

func (t *teeByteReader) ReadByte() (byte, error) {
	b, err := t.r.ReadByte()
	if err == nil {
		t.crc.Write([]byte{b})
	}
	return b, err
}
