package uvm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/fb"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
)

// The files of an on-disk image, read without Badger.
//
// Badger trusts its files. A damaged table index fails Open with a bare
// message, or panics in a goroutine that Open starts, where no recover can
// catch it; a damaged block is parsed before its checksum is checked; a
// damaged log header surfaces as "Invalid datakey id"; a damaged log entry
// silently ends the replay of a memtable. So Open first checks every file
// with the parsers below, which never panic, and Salvage reads a damaged
// image with the same parsers, never through Badger.
//
//	MANIFEST    which tables are live (Badger's own reader; it is checksummed)
//	NNNNNN.sst  blocks of entries, each with a checksum; an index (with a
//	            checksum) of the blocks; see tableIndex and tableBlock
//	NNNNN.mem   the log of a memtable not yet flushed to a table
//	NNNNNN.vlog values too large for a table (over 1 MiB)
//
// A .mem or .vlog file starts with a 20-byte header (the id of its
// encryption key, 0 for none, and an IV), then entries: meta byte,
// user-meta byte, uvarint key length, uvarint value length, uvarint expiry,
// key, value, CRC32C (big-endian) of all of it. Keys everywhere carry the
// version they were written at in their last 8 bytes.

// Badger's entry meta bits (badger/value.go).
const (
	metaDelete       = 1 << 0
	metaValuePointer = 1 << 1
	metaTxn          = 1 << 6
	metaFinTxn       = 1 << 7
)

const (
	logHeaderSize = 20      // key id (8) and IV (12) of a .mem or .vlog file
	maxLogKey     = 1 << 16 // Badger refuses longer keys in a log
	blockHeader   = 4       // overlap and diff lengths (uint16 each) of a table entry
	versionSize   = 8       // the version suffix of every key
	vptrSize      = 12      // a value pointer: file id, length, offset
	maxBlockCount = 1 << 24 // more blocks than any table can hold
	maxValueLen   = 1 << 31 // Badger's limit on a value
	badgerPrefix  = "!badger!"
)

func damaged(file string, off int64, format string, args ...any) *CorruptImageError {
	return &CorruptImageError{File: file, Offset: off, Reason: fmt.Sprintf(format, args...)}
}

// checkFiles checks every file of the image in dir that Badger will read
// at Open: the live tables (their indexes and every block's checksum),
// and the headers and entries of the memtable and value logs. It returns
// nil for a directory that does not exist yet, and errors.Join of a
// *CorruptImageError per damaged file.
//
// Every block is checked, which reads the whole image (about 1 ms per
// MiB), because Badger itself, asked to check blocks as it reads them,
// answers "not found" for the keys of a damaged block.
func checkFiles(dir string, logger *slog.Logger) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("uvm: open %s: %w", dir, err)
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	var errs []error
	tables, err := liveTables(dir, names, logger)
	if err != nil {
		return err
	}
	for _, id := range slices.Sorted(maps.Keys(tables)) {
		path := filepath.Join(dir, tableName(id))
		data, release, err := mapFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, damaged(path, -1, "the table is listed in the MANIFEST but missing"))
			continue
		}
		if err != nil {
			return fmt.Errorf("uvm: open %s: %w", dir, err)
		}
		cerr := checkTable(path, data)
		release()
		if cerr != nil {
			errs = append(errs, cerr)
		}
	}
	for _, ext := range []string{".mem", ".vlog"} {
		logs := logFiles(names, ext)
		for i, name := range logs {
			path := filepath.Join(dir, name)
			w, done, err := openWindow(path)
			if err != nil {
				return fmt.Errorf("uvm: open %s: %w", dir, err)
			}
			_, _, err = scanLog(path, w, i == len(logs)-1, 0, nil)
			done()
			var cerr *CorruptImageError
			if errors.As(err, &cerr) {
				errs = append(errs, cerr)
			} else if err != nil {
				return fmt.Errorf("uvm: open %s: %w", dir, err)
			}
		}
	}
	return errors.Join(errs...)
}

func tableName(id uint64) string { return fmt.Sprintf("%06d.sst", id) }

// logFiles returns the names in dir with the extension, by file id (the
// newest last).
func logFiles(names []string, ext string) []string {
	var out []string
	for _, n := range names {
		if strings.HasSuffix(n, ext) {
			if _, err := strconv.ParseUint(strings.TrimSuffix(n, ext), 10, 32); err == nil {
				out = append(out, n)
			}
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		x, _ := strconv.ParseUint(strings.TrimSuffix(a, ext), 10, 32)
		y, _ := strconv.ParseUint(strings.TrimSuffix(b, ext), 10, 32)
		return int(x) - int(y)
	})
	return out
}

// liveTables returns the ids of the tables the MANIFEST lists (nil when
// there is no MANIFEST, in a new image). A damaged MANIFEST is a
// *CorruptImageError.
func liveTables(dir string, names []string, logger *slog.Logger) (map[uint64]badger.TableManifest, error) {
	if !slices.Contains(names, "MANIFEST") {
		return nil, nil
	}
	path := filepath.Join(dir, "MANIFEST")
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("uvm: open %s: %w", dir, err)
	}
	defer f.Close()
	var m badger.Manifest
	err = func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("%s", describePanic(r))
			}
		}()
		m, _, err = badger.ReplayManifestFile(f, 0, badger.DefaultOptions("").WithLogger(badgerLogger{logger}))
		return err
	}()
	if err != nil {
		return nil, damaged(path, -1, "%v", err)
	}
	return m.Tables, nil
}

// checkTable checks a table's index and every block's checksum.
func checkTable(path string, data []byte) *CorruptImageError {
	index, off, why := tableIndex(data)
	if why != "" {
		return damaged(path, off, "the table's index is damaged: %s", why)
	}
	refs, why := indexBlocks(index, len(data))
	if why != "" {
		return damaged(path, -1, "the table's index is damaged: %s", why)
	}
	var zd zstdDecoder
	defer zd.close()
	for i, b := range refs {
		if _, why := tableBlock(data[b.off:b.off+b.len], &zd); why != "" {
			return damaged(path, int64(b.off), "block %d of %d: %s", i, len(refs), why)
		}
	}
	return nil
}

// blockRef is one block of a table: where it lies in the file, and its
// first key as the index records it.
type blockRef struct {
	off, len int
	first    []byte
}

// tableIndex returns the index of a table file, checked against its
// checksum. On damage it returns the offset and a reason instead.
//
// The end of a table: index, index length (u32 BE), checksum of the index
// (protobuf), checksum length (u32 BE).
func tableIndex(data []byte) (index []byte, off int64, why string) {
	n := len(data)
	if n < 8 {
		return nil, 0, fmt.Sprintf("a table of %d bytes", n)
	}
	pos := n - 4
	chkLen := int(binary.BigEndian.Uint32(data[pos:]))
	if chkLen > pos-4 {
		return nil, int64(pos), fmt.Sprintf("checksum length %d past the file's start", chkLen)
	}
	pos -= chkLen
	chk := data[pos : pos+chkLen]
	pos -= 4
	idxLen := int(binary.BigEndian.Uint32(data[pos:]))
	if idxLen > pos {
		return nil, int64(pos), fmt.Sprintf("index length %d past the file's start", idxLen)
	}
	start := pos - idxLen
	index = data[start:pos]
	if !checksumOK(index, chk) {
		return nil, int64(start), "the index fails its checksum"
	}
	return index, 0, ""
}

// indexBlocks lists the blocks of a checked index. The index is a
// flatbuffer; its accessors trust it, so a panic (an index crafted to pass
// its checksum) is turned into a reason.
func indexBlocks(index []byte, fileLen int) (blocks []blockRef, why string) {
	defer func() {
		if r := recover(); r != nil {
			blocks, why = nil, "undecodable: "+describePanic(r)
		}
	}()
	if len(index) < 8 {
		return nil, fmt.Sprintf("an index of %d bytes", len(index))
	}
	ti := fb.GetRootAsTableIndex(index, 0)
	n := ti.OffsetsLength()
	if n < 0 || n > maxBlockCount {
		return nil, fmt.Sprintf("%d blocks", n)
	}
	var bo fb.BlockOffset
	for i := range n {
		if !ti.Offsets(&bo, i) {
			return nil, fmt.Sprintf("block %d has no offset", i)
		}
		off, l := int(bo.Offset()), int(bo.Len())
		if l <= 0 || off > fileLen || l > fileLen-off {
			return nil, fmt.Sprintf("block %d at %d+%d lies outside the file of %d bytes", i, off, l, fileLen)
		}
		blocks = append(blocks, blockRef{off: off, len: l, first: bytes.Clone(bo.KeyBytes())})
	}
	return blocks, ""
}

// checksumOK checks data against a Badger checksum message (protobuf:
// field 1 the algorithm, 0 CRC32C or 1 xxHash64; field 2 the sum).
func checksumOK(data, msg []byte) bool {
	var algo, sum uint64
	for len(msg) > 0 {
		tag, n := binary.Uvarint(msg)
		if n <= 0 || tag&7 != 0 { // only varint fields
			return false
		}
		msg = msg[n:]
		v, n := binary.Uvarint(msg)
		if n <= 0 {
			return false
		}
		msg = msg[n:]
		switch tag >> 3 {
		case 1:
			algo = v
		case 2:
			sum = v
		}
	}
	switch algo {
	case 0:
		return uint64(crc32.Checksum(data, castagnoli)) == sum
	case 1:
		return xxhash.Sum64(data) == sum
	}
	return false
}

// zstdDecoder makes a zstd decoder when a block first needs one.
type zstdDecoder struct{ d *zstd.Decoder }

func (z *zstdDecoder) decode(src []byte) ([]byte, error) {
	if z.d == nil {
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(64<<20))
		if err != nil {
			return nil, err
		}
		z.d = d
	}
	return z.d.DecodeAll(src, nil)
}

func (z *zstdDecoder) close() {
	if z.d != nil {
		z.d.Close()
		z.d = nil
	}
}

var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

// tableBlock checks a block against its checksum and returns its entries
// and their offsets, as blockEntries reads them. Blocks of tables written
// with compression (older images) are decompressed first.
//
// The end of a block, uncompressed: entry offsets (u32, little-endian, as
// Badger writes them on the machines it runs on), their count (u32 BE),
// the checksum of everything before it (protobuf), the checksum's length
// (u32 BE).
func tableBlock(raw []byte, zd *zstdDecoder) (content []byte, why string) {
	if c, ok := checkedBlock(raw); ok {
		return c, ""
	}
	if n, err := snappy.DecodedLen(raw); err == nil && n <= 64<<20 {
		if d, err := snappy.Decode(nil, raw); err == nil {
			if c, ok := checkedBlock(d); ok {
				return c, ""
			}
		}
	}
	if bytes.HasPrefix(raw, zstdMagic) && zd != nil {
		if d, err := zd.decode(raw); err == nil {
			if c, ok := checkedBlock(d); ok {
				return c, ""
			}
		}
	}
	return nil, "the block fails its checksum"
}

// checkedBlock returns the part of an uncompressed block its checksum
// covers, if the checksum holds.
func checkedBlock(b []byte) ([]byte, bool) {
	if len(b) < 8 {
		return nil, false
	}
	pos := len(b) - 4
	chkLen := int(binary.BigEndian.Uint32(b[pos:]))
	if chkLen > pos-4 {
		return nil, false
	}
	pos -= chkLen
	if !checksumOK(b[:pos], b[pos:pos+chkLen]) {
		return nil, false
	}
	return b[:pos], true
}

// blockEntries calls fn with every key (version included) and encoded
// value of a checked block, in order. Keys are prefix-compressed against
// the block's first key. fn must copy what it keeps.
func blockEntries(content []byte, fn func(key, val []byte) error) error {
	if len(content) < 4 {
		return errors.New("block too short")
	}
	pos := len(content) - 4
	n := int(binary.BigEndian.Uint32(content[pos:]))
	if n == 0 || n > pos/4 {
		return fmt.Errorf("%d entries in a block of %d bytes", n, len(content))
	}
	idxStart := pos - 4*n
	data := content[:idxStart]
	offsets := make([]int, n+1)
	for i := range n {
		offsets[i] = int(binary.LittleEndian.Uint32(content[idxStart+4*i:]))
	}
	offsets[n] = len(data)
	if offsets[0] != 0 {
		return fmt.Errorf("first entry at %d", offsets[0])
	}
	var base, key []byte
	for i := range n {
		start, end := offsets[i], offsets[i+1]
		if end < start+blockHeader || end > len(data) {
			return fmt.Errorf("entry %d at %d..%d", i, start, end)
		}
		e := data[start:end]
		overlap := int(binary.LittleEndian.Uint16(e[0:]))
		diff := int(binary.LittleEndian.Uint16(e[2:]))
		if blockHeader+diff > len(e) {
			return fmt.Errorf("entry %d: key of %d bytes in %d", i, diff, len(e))
		}
		if i == 0 {
			if overlap != 0 {
				return fmt.Errorf("first entry overlaps by %d", overlap)
			}
			base = e[blockHeader : blockHeader+diff]
		}
		if overlap > len(base) {
			return fmt.Errorf("entry %d overlaps the base key by %d of %d bytes", i, overlap, len(base))
		}
		key = append(append(key[:0], base[:overlap]...), e[blockHeader:blockHeader+diff]...)
		if err := fn(key, e[blockHeader+diff:]); err != nil {
			return err
		}
	}
	return nil
}

// valueStruct is a decoded table value: meta bits, and the value (or a
// value pointer).
type valueStruct struct {
	meta    byte
	expires uint64
	value   []byte
}

func decodeValueStruct(b []byte) (valueStruct, bool) {
	if len(b) < 3 {
		return valueStruct{}, false
	}
	exp, n := binary.Uvarint(b[2:])
	if n <= 0 {
		return valueStruct{}, false
	}
	return valueStruct{meta: b[0], expires: exp, value: b[2+n:]}, true
}

// splitKey splits a stored key into the user's key and its version.
func splitKey(k []byte) ([]byte, uint64, bool) {
	if len(k) < versionSize {
		return nil, 0, false
	}
	return k[:len(k)-versionSize], math.MaxUint64 - binary.BigEndian.Uint64(k[len(k)-versionSize:]), true
}

// valuePointer locates a value in a .vlog file.
type valuePointer struct{ fid, len, offset uint32 }

func decodeValuePointer(b []byte) (valuePointer, bool) {
	if len(b) != vptrSize {
		return valuePointer{}, false
	}
	// Badger copies the struct's memory: little-endian on the machines it runs on.
	return valuePointer{
		fid:    binary.LittleEndian.Uint32(b[0:]),
		len:    binary.LittleEndian.Uint32(b[4:]),
		offset: binary.LittleEndian.Uint32(b[8:]),
	}, true
}

// logEntry is one entry of a .mem or .vlog file.
type logEntry struct {
	meta    byte
	expires uint64
	key     []byte // with its version
	value   []byte
	size    int // the entry's length in the file
}

// readLogEntry decodes the entry at the start of b, checking its CRC.
func readLogEntry(b []byte) (logEntry, bool) {
	if len(b) < 2 {
		return logEntry{}, false
	}
	e := logEntry{meta: b[0]}
	p := 2
	klen, n := binary.Uvarint(b[p:])
	if n <= 0 || klen > maxLogKey {
		return logEntry{}, false
	}
	p += n
	vlen, n := binary.Uvarint(b[p:])
	if n <= 0 || vlen > maxValueLen {
		return logEntry{}, false
	}
	p += n
	if e.expires, n = binary.Uvarint(b[p:]); n <= 0 {
		return logEntry{}, false
	}
	p += n
	end := uint64(p) + klen + vlen
	if end+4 > uint64(len(b)) {
		return logEntry{}, false
	}
	if crc32.Checksum(b[:end], castagnoli) != binary.BigEndian.Uint32(b[end:]) {
		return logEntry{}, false
	}
	e.key = b[p : uint64(p)+klen]
	e.value = b[uint64(p)+klen : end]
	e.size = int(end) + 4
	return e, true
}

// logWindow bounds how far past the end of a log's good entries
// scanLog looks for more: entries lie end to end, so whatever follows a
// damaged entry starts within its length, and a value in a log is rarely
// above a few MiB (a transaction holds at most about 15% of the memtable).
const logWindow = 16 << 20

// scanLog walks the entries of a .mem or .vlog file from start (0: the
// file's start), calling fn (if not nil) with each entry and its offset,
// and returns where the entries end.
//
// The entries end at the file's end, at zeros (the unused part of a
// preallocated log: Badger preallocates a value log at twice its file
// size, which a killed process leaves sparse but large), or at a torn
// entry that a crash left at the end of the newest log. An entry that
// fails its checksum with a good entry after it is damage: Badger would
// silently drop everything from it on. So is a key id in the header (this
// library never encrypts), which Badger reports as "Invalid datakey id".
// On damage, resume is where the next good entry starts (0 if none was
// found), for a reader that wants what follows.
func scanLog(path string, r *fileWindow, newest bool, start int, fn func(off int, e logEntry)) (end, resume int, err error) {
	if r.size < logHeaderSize {
		return r.size, 0, r.err // an empty log left by a crash; Badger starts it afresh
	}
	off := start
	if start == 0 {
		if id := binary.BigEndian.Uint64(r.at(0, 8)); id != 0 {
			return 0, logHeaderSize, damaged(path, 0, "the header names encryption key %d, and this image is not encrypted", id)
		}
		off = logHeaderSize
	}
	for off < r.size {
		e, ok := r.entry(off)
		if !ok {
			break
		}
		if fn != nil {
			fn(off, e)
		}
		off += e.size
	}
	if r.err != nil {
		return off, 0, fmt.Errorf("uvm: read %s: %w", path, r.err)
	}
	if r.zeros(off, zeroGap) {
		// The end, or the unused, zeroed end of a preallocated log. (Past
		// a gap this long, a good entry would not be found: entries lie end
		// to end, and a damaged one is rarely all zeros.)
		return off, 0, r.err
	}
	next := r.nextEntry(off)
	switch {
	case next > 0:
		return off, next, damaged(path, int64(off), "an entry fails its checksum; the entries after it, from byte %d, would be lost", next)
	case newest:
		return off, 0, r.err // a torn last entry: a crash interrupted its commit
	}
	return off, 0, damaged(path, int64(off), "an entry fails its checksum")
}

// entry reads the log entry at off, if it is whole and intact.
func (w *fileWindow) entry(off int) (logEntry, bool) {
	n, ok := entryEnd(w.at(off, maxLogHeader))
	if !ok || n > w.size-off {
		return logEntry{}, false
	}
	e, ok := readLogEntry(w.at(off, n))
	return e, ok && len(e.key) > 0
}

// nextEntry finds the first intact entry after the bad one at off, within
// logWindow: where the bad entry's header says it ends, else at any byte
// up to the last that is not zero. It returns 0 if there is none.
func (w *fileWindow) nextEntry(off int) int {
	if n, ok := entryEnd(w.at(off, maxLogHeader)); ok && n < w.size-off {
		if _, ok := w.entry(off + n); ok {
			return off + n
		}
	}
	rest := w.at(off, logWindow)
	last := len(rest) - 1
	for last >= 0 && rest[last] == 0 {
		last--
	}
	for p := 1; p <= last; p++ {
		if e, ok := readLogEntry(rest[p:]); ok && len(e.key) > 0 {
			return off + p
		}
	}
	return 0
}

// zeroGap is how many zero bytes after a log's good entries make its end.
const zeroGap = 1 << 20

// zeros reports whether the n bytes from off (fewer at the file's end) are
// all zero, reading them a window at a time.
func (w *fileWindow) zeros(off, n int) bool {
	end := min(off+n, w.size)
	for off < end {
		b := w.at(off, min(end-off, 64<<10))
		if len(b) == 0 {
			return true // a read error, which w.err keeps
		}
		if !allZero(b) {
			return false
		}
		off += len(b)
	}
	return true
}

// maxLogHeader is the longest header of a log entry.
const maxLogHeader = 2 + 3*binary.MaxVarintLen64

// fileWindow reads a file through a window of at least 1 MiB, for walking
// a large, mostly sequential file without holding all of it.
type fileWindow struct {
	f    io.ReaderAt
	size int
	base int
	buf  []byte
	err  error // the first read error
}

func newFileWindow(f io.ReaderAt, size int64) *fileWindow {
	return &fileWindow{f: f, size: int(min(size, math.MaxInt32))}
}

// at returns up to n bytes from off (fewer at the end of the file, or
// after a read error, which w.err keeps).
func (w *fileWindow) at(off, n int) []byte {
	if off < 0 || off >= w.size || n <= 0 {
		return nil
	}
	n = min(n, w.size-off)
	if off < w.base || off+n > w.base+len(w.buf) {
		size := min(max(n, 1<<20), w.size-off)
		if cap(w.buf) < size {
			w.buf = make([]byte, size)
		}
		w.buf = w.buf[:size]
		k, err := w.f.ReadAt(w.buf, int64(off))
		if err != nil && !errors.Is(err, io.EOF) && w.err == nil {
			w.err = err
		}
		w.base, w.buf = off, w.buf[:k]
		n = min(n, k)
	}
	return w.buf[off-w.base : off-w.base+n]
}

// openWindow opens a file for reading through a fileWindow.
func openWindow(path string) (*fileWindow, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return newFileWindow(f, st.Size()), func() { f.Close() }, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// entryEnd returns the length of the log entry whose header starts b, as
// the header states it, without checking the entry or that b holds it.
func entryEnd(b []byte) (int, bool) {
	if len(b) < 2 {
		return 0, false
	}
	p := 2
	var l [3]uint64
	for i := range l {
		v, n := binary.Uvarint(b[p:])
		if n <= 0 {
			return 0, false
		}
		l[i], p = v, p+n
	}
	end := uint64(p) + l[0] + l[1] + 4
	if l[0] > maxLogKey || l[1] > maxValueLen {
		return 0, false
	}
	return int(end), true
}

// badgerDamage turns an error of badger.Open that reports a damaged file
// into a *CorruptImageError naming the file (the first quoted path in the
// message, else the directory); other errors give nil. Badger's errors are
// text, so this matches their words.
func badgerDamage(dir string, err error) error {
	msg := err.Error()
	signs := []string{"Invalid datakey id", "checksum", "MANIFEST", "manifest", "orrupt", "failed to read index", "proto:", "Invalid read", "does not exist for table"}
	file := dir
	if strings.Contains(msg, "Encryption key mismatch") { // the key registry's check text
		return damaged(filepath.Join(dir, "KEYREGISTRY"), -1, "badger: %s", msg)
	}
	if !slices.ContainsFunc(signs, func(s string) bool { return strings.Contains(msg, s) }) {
		return nil
	}
	if i := strings.IndexByte(msg, '"'); i >= 0 {
		if j := strings.IndexByte(msg[i+1:], '"'); j > 0 {
			file = msg[i+1 : i+1+j]
		}
	}
	return damaged(file, -1, "badger: %s", msg)
}

// readError wraps an error reading key. Badger reports a table block or
// value log entry that fails its checksum (or a value pointer past the
// log's end) in words; those become a *CorruptError for the key.
func readError(key []byte, err error) error {
	msg := err.Error()
	for _, s := range []string{"checksum mismatch", "Invalid read", "Invalid value pointer", "file with ID", "invalid checksum length"} {
		if strings.Contains(msg, s) {
			return &CorruptError{Key: printableKey(key), Reason: "badger: " + msg}
		}
	}
	return fmt.Errorf("uvm: read %s: %w", printableKey(key), err)
}
