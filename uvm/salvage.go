package uvm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SalvageReport says what Salvage copied and what it could not.
type SalvageReport struct {
	// Counts of what was copied into the new image.
	Objects        int // objects, each with every slot that was readable
	MethodVersions int // kept method versions (history)
	Records        int
	Blobs          int
	Roots          int

	// Damaged lists the damaged files, and the damaged places in them, that
	// Salvage found (what Open would refuse, and more).
	Damaged []CorruptImageError
	// Lost lists what could not be copied: objects, slots, method versions,
	// records, blobs, roots, and ranges of keys in damaged blocks whose
	// names cannot be known.
	Lost []Loss
	// Stale lists what was copied but may be older than it was: a key whose
	// newer version may have been in a damaged block (an older one was
	// found elsewhere), a method slot restored from the method's history.
	Stale []Loss
	// Missing lists objects that copied objects or roots refer to but that
	// were not found: deleted before the damage (references to a deleted
	// object are left as they are), or lost in it.
	Missing []Loss
}

// Loss is one thing Salvage could not copy, or copied with a caveat.
type Loss struct {
	Kind   string // "object", "slot", "method", "method version", "record", "blob", "root", "keys", "key"
	OID    OID    // the object, when there is one
	Name   string // the slot, selector, "selector v3", "namespace/key", blob id, root name, or key range
	Reason string
}

func (l Loss) String() string {
	var b strings.Builder
	switch {
	case l.Kind == "object":
		fmt.Fprintf(&b, "object %d", l.OID)
	case l.OID != 0:
		fmt.Fprintf(&b, "object %d %s", l.OID, l.Kind)
	default:
		b.WriteString(l.Kind)
	}
	if l.Name != "" {
		fmt.Fprintf(&b, " %q", l.Name)
	}
	b.WriteString(": " + l.Reason)
	return b.String()
}

// Complete reports whether nothing was damaged, lost or possibly stale.
func (r SalvageReport) Complete() bool {
	return len(r.Damaged) == 0 && len(r.Lost) == 0 && len(r.Stale) == 0
}

// String lists the report, one line per item.
func (r SalvageReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "copied %d objects, %d method versions, %d records, %d blobs, %d roots\n",
		r.Objects, r.MethodVersions, r.Records, r.Blobs, r.Roots)
	for _, d := range r.Damaged {
		fmt.Fprintf(&b, "damaged: %s\n", d.where())
	}
	for _, part := range []struct {
		name string
		list []Loss
	}{{"lost", r.Lost}, {"possibly stale", r.Stale}, {"missing", r.Missing}} {
		for _, l := range part.list {
			fmt.Fprintf(&b, "%s: %s\n", part.name, l)
		}
	}
	return b.String()
}

// Salvage copies everything readable in the image in from into a new
// image in to, and reports what it could not copy. It reads from's files
// itself, never through Badger, so it works when Open refuses the image:
// every intact block of every table, every intact entry of the memtable
// logs, and the value log entries they point to, newest version of each
// key first. It copies:
//
//   - each object with every slot whose checksum holds (a damaged slot is
//     lost, not the object; a method slot lost with its part of the object
//     is restored from the method's history, and listed as stale);
//   - every intact method version, record and root;
//   - every blob whose chunks are all intact and match its address.
//
// The report lists what was damaged, lost, possibly stale, or referred to
// but missing. A table's damaged block loses keys whose names cannot be
// read: the report gives their range (from the table's index), and the
// Missing list names the objects still referred to. to must not exist or
// hold an empty image; from must not be open. The new image is closed
// when Salvage returns.
func Salvage(ctx context.Context, from, to string) (SalvageReport, error) {
	var rep SalvageReport
	if from == "" || to == "" {
		return rep, errors.New("uvm: salvage: two directories are needed")
	}
	if a, b := filepath.Clean(from), filepath.Clean(to); a == b {
		return rep, fmt.Errorf("uvm: salvage: %s into itself", from)
	}
	if _, err := os.Stat(from); err != nil {
		return rep, fmt.Errorf("uvm: salvage: %w", err)
	}
	release, err := holdShared(from)
	if err != nil {
		return rep, err
	}
	defer release()

	s := &salvager{ctx: ctx, dir: from, rep: &rep, best: map[string]*kv{}}
	defer s.zd.close()
	if err := s.read(); err != nil {
		return rep, err
	}
	im, err := Open(to, Options{})
	if err != nil {
		return rep, fmt.Errorf("uvm: salvage: %w", err)
	}
	err = s.write(im)
	if cerr := im.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return rep, fmt.Errorf("uvm: salvage: %w", err)
	}
	return rep, nil
}

// kv is the newest version of a key found so far.
type kv struct {
	version uint64
	meta    byte
	expires uint64
	value   []byte     // inline value, or an encoded value pointer
	block   *blockSpan // for a large inline value: where to read it again
	entry   int        // its index in that block
	file    string     // where it was found, for the report
}

// blockSpan is a checked block of a table, for reading a large value again.
type blockSpan struct {
	path     string
	off, len int
}

// largeValue is the size above which a table value is read again from
// its block when it is copied, instead of kept in memory (blob chunks).
const largeValue = 64 << 10

type damagedRange struct {
	from, to []byte // user keys; to is nil for the table's last block
	file     string
	block    int
}

type salvager struct {
	ctx    context.Context
	dir    string
	rep    *SalvageReport
	best   map[string]*kv
	ranges []damagedRange // key ranges of damaged blocks
	zd     zstdDecoder
}

func (s *salvager) damage(e *CorruptImageError) { s.rep.Damaged = append(s.rep.Damaged, *e) }

func (s *salvager) lose(l Loss) { s.rep.Lost = append(s.rep.Lost, l) }

// tableFiles returns the ids of the table files among names.
func tableFiles(names []string) []uint64 {
	var ids []uint64
	for _, n := range names {
		id, err := strconv.ParseUint(strings.TrimSuffix(n, ".sst"), 10, 64)
		if err == nil && n == tableName(id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// offer records a version of a key if it is the newest so far. A large
// value from a table is not kept (see largeValue): the caller notes where
// to read it again.
func (s *salvager) offer(key []byte, meta byte, expires uint64, value []byte, file string, fromTable bool) *kv {
	user, version, ok := splitKey(key)
	if !ok || bytes.HasPrefix(user, []byte(badgerPrefix)) {
		return nil
	}
	if cur, ok := s.best[string(user)]; ok && cur.version >= version {
		return nil
	}
	e := &kv{version: version, meta: meta, expires: expires, file: file}
	if !fromTable || len(value) <= largeValue || meta&metaValuePointer != 0 {
		e.value = bytes.Clone(value)
	}
	s.best[string(user)] = e
	return e
}

// read gathers the newest version of every key from the tables and the
// memtable logs.
func (s *salvager) read() error {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("uvm: salvage: %w", err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	// The MANIFEST lists the live tables; without it, every table file is
	// read (a stale one only adds older versions, which lose to newer ones).
	var ids []uint64
	tables, err := liveTables(s.dir, names, slog.New(slog.DiscardHandler))
	var cerr *CorruptImageError
	switch {
	case errors.As(err, &cerr):
		cerr.Reason += "; every table file in the directory is read"
		s.damage(cerr)
		ids = tableFiles(names)
	case err != nil:
		return fmt.Errorf("uvm: salvage: %w", err)
	case tables == nil:
		if ids = tableFiles(names); len(ids) > 0 {
			s.damage(damaged(filepath.Join(s.dir, "MANIFEST"), -1, "the MANIFEST is missing; every table file in the directory is read"))
		}
	default:
		ids = slices.Sorted(maps.Keys(tables))
	}
	for _, id := range ids {
		if err := s.ctx.Err(); err != nil {
			return err
		}
		path := filepath.Join(s.dir, tableName(id))
		data, release, err := mapFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			s.damage(damaged(path, -1, "the table is listed in the MANIFEST but missing; its keys are unknown"))
			continue
		}
		if err != nil {
			return fmt.Errorf("uvm: salvage: %w", err)
		}
		s.readTable(path, data)
		release()
	}
	for _, name := range logFiles(names, ".vlog") {
		// A value log is read where a pointer leads; only its header is
		// checked as a whole (Open refuses a damaged one).
		path := filepath.Join(s.dir, name)
		if f, err := os.Open(path); err == nil {
			var h [8]byte
			if n, _ := f.ReadAt(h[:], 0); n == 8 && binary.BigEndian.Uint64(h[:]) != 0 {
				s.damage(damaged(path, 0, "the header names an encryption key; this image is not encrypted, and its entries were read as they are"))
			}
			f.Close()
		}
	}
	logs := logFiles(names, ".mem")
	for i, name := range logs {
		path := filepath.Join(s.dir, name)
		w, done, err := openWindow(path)
		if err != nil {
			return fmt.Errorf("uvm: salvage: %w", err)
		}
		err = s.readMemLog(path, w, i == len(logs)-1)
		done()
		if err != nil {
			return err
		}
	}
	return nil
}

// readTable offers every entry of a table's intact blocks. With an intact
// index, the blocks are found from it; without, by scanning for their
// trailers (uncompressed tables only).
func (s *salvager) readTable(path string, data []byte) {
	index, off, why := tableIndex(data)
	var blocks []blockRef
	if why == "" {
		blocks, why = indexBlocks(index, len(data))
		off = -1
	}
	if why != "" {
		s.damage(damaged(path, off, "the table's index is damaged (%s); its blocks were found by scanning", why))
		s.scanTable(path, data)
		return
	}
	for i, b := range blocks {
		content, why := tableBlock(data[b.off:b.off+b.len], &s.zd)
		if why == "" {
			why = s.offerBlock(path, b.off, b.len, content)
		}
		if why == "" {
			continue
		}
		s.damage(damaged(path, int64(b.off), "block %d of %d: %s", i, len(blocks), why))
		r := damagedRange{file: filepath.Base(path), block: i}
		if u, _, ok := splitKey(b.first); ok {
			r.from = bytes.Clone(u)
		}
		if i+1 < len(blocks) {
			if u, _, ok := splitKey(blocks[i+1].first); ok {
				r.to = bytes.Clone(u)
			}
		}
		s.ranges = append(s.ranges, r)
		s.lose(Loss{Kind: "keys", Name: r.String(), Reason: fmt.Sprintf("in damaged block %d of %s", i, r.file)})
	}
}

func (r damagedRange) String() string {
	if r.to == nil {
		return printableKey(r.from) + " and after"
	}
	return printableKey(r.from) + " to " + printableKey(r.to)
}

// offerBlock offers a checked block's entries; it returns a reason if
// they cannot be read.
func (s *salvager) offerBlock(path string, off, n int, content []byte) string {
	span := &blockSpan{path: path, off: off, len: n}
	i := 0
	err := blockEntries(content, func(key, val []byte) error {
		vs, ok := decodeValueStruct(val)
		if !ok {
			return fmt.Errorf("entry %d: bad value header", i)
		}
		if e := s.offer(key, vs.meta, vs.expires, vs.value, filepath.Base(path), true); e != nil && e.value == nil {
			e.block, e.entry = span, i
		}
		i++
		return nil
	})
	if err != nil {
		return err.Error()
	}
	return ""
}

// scanTable finds the blocks of a table whose index is damaged: an
// uncompressed block ends with its checksum's length (a small number), the
// checksum, and its entry count, so each end that parses is tried against
// the bytes since the previous block's end.
func (s *salvager) scanTable(path string, data []byte) {
	start, found := 0, 0
	for end := start + 12; end <= len(data); end++ {
		chkLen := int(binary.BigEndian.Uint32(data[end-4 : end]))
		if chkLen < 2 || chkLen > 11 || end-4-chkLen-4 <= start {
			continue
		}
		if tag := data[end-4-chkLen]; tag != 0x08 && tag != 0x10 {
			continue
		}
		raw := data[start:end]
		if content, ok := checkedBlock(raw); ok {
			if why := s.offerBlock(path, start, end-start, content); why == "" {
				found++
				start, end = end, end+11
				continue
			}
		}
		if plausibleBlock(raw, chkLen) {
			s.damage(damaged(path, int64(start), "a block (bytes %d to %d) fails its checksum; its keys are unknown", start, end))
			start, end = end, end+11
		}
	}
	if found == 0 {
		s.lose(Loss{Kind: "keys", Name: filepath.Base(path), Reason: "no block of the table could be read; its keys are unknown"})
	}
}

// plausibleBlock reports whether raw, whose checksum fails, still has the
// shape of a block: an entry count and entry offsets that fit.
func plausibleBlock(raw []byte, chkLen int) bool {
	pos := len(raw) - 4 - chkLen - 4
	n := int(binary.BigEndian.Uint32(raw[pos:]))
	if n < 1 || n > pos/4 {
		return false
	}
	idx := pos - 4*n
	prev := -1
	for i := range n {
		o := int(binary.LittleEndian.Uint32(raw[idx+4*i:]))
		if (i == 0 && o != 0) || o <= prev || o >= idx {
			return false
		}
		prev = o
	}
	return true
}

// readMemLog offers the entries of a memtable log, a transaction at a
// time, as Badger replays it; past a damaged entry it goes on with the
// next intact one, dropping the transaction the damaged entry was part of.
func (s *salvager) readMemLog(path string, w *fileWindow, newest bool) error {
	type pending struct {
		key     []byte
		meta    byte
		expires uint64
		value   []byte
	}
	var txn []pending
	var txnTs uint64
	// After damage: skip the rest of the damaged transaction, the one
	// with version skipTs (0: the next one).
	skipping, skipTs := false, uint64(0)
	offer := func(_ int, e logEntry) {
		_, ts, _ := splitKey(e.key)
		if skipping {
			fin := e.meta&metaFinTxn != 0
			if fin {
				ts, _ = strconv.ParseUint(string(e.value), 10, 64)
			}
			if skipTs == 0 && e.meta&(metaTxn|metaFinTxn) != 0 {
				skipTs = ts
			}
			if ts == skipTs {
				skipping = !fin
				return
			}
			skipping = false
		}
		switch {
		case e.meta&metaTxn != 0:
			if len(txn) > 0 && ts != txnTs {
				txn = txn[:0] // an unfinished transaction: Badger drops it
			}
			txnTs = ts
			txn = append(txn, pending{e.key, e.meta, e.expires, e.value})
		case e.meta&metaFinTxn != 0:
			for _, p := range txn {
				s.offer(p.key, p.meta, p.expires, p.value, filepath.Base(path), false)
			}
			txn = txn[:0]
		default:
			s.offer(e.key, e.meta, e.expires, e.value, filepath.Base(path), false)
		}
	}
	start := 0
	for {
		_, resume, err := scanLog(path, w, newest, start, offer)
		var cerr *CorruptImageError
		if !errors.As(err, &cerr) {
			if err != nil {
				return fmt.Errorf("uvm: salvage: %w", err)
			}
			return nil
		}
		s.damage(cerr)
		if cerr.Offset == 0 { // the header: no entry is lost
			start = resume
			continue
		}
		what := "the commit it was part of is lost, and the commits after it could not be found"
		if resume > 0 {
			what = "the commit it was part of is lost; the commits after it were read"
		}
		s.lose(Loss{Kind: "keys", Name: filepath.Base(path), Reason: fmt.Sprintf("a damaged entry at byte %d: %s", cerr.Offset, what)})
		if resume <= start || resume == 0 {
			return nil
		}
		skipping, skipTs = true, 0
		if len(txn) > 0 {
			skipTs = txnTs
		}
		txn = txn[:0]
		start = resume
	}
}

// value returns the value of a key's newest version: inline, read again
// from its block, or read from the value log.
func (s *salvager) value(e *kv, user []byte) ([]byte, error) {
	switch {
	case e.meta&metaValuePointer != 0:
		return s.vlogValue(e, user)
	case e.block != nil:
		return s.blockValue(e)
	}
	return e.value, nil
}

func (s *salvager) blockValue(e *kv) ([]byte, error) {
	f, err := os.Open(e.block.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw := make([]byte, e.block.len)
	if _, err := f.ReadAt(raw, int64(e.block.off)); err != nil {
		return nil, err
	}
	content, why := tableBlock(raw, &s.zd)
	if why != "" {
		return nil, errors.New(why)
	}
	var out []byte
	i := 0
	err = blockEntries(content, func(_, val []byte) error {
		if i == e.entry {
			vs, _ := decodeValueStruct(val)
			out = bytes.Clone(vs.value)
		}
		i++
		return nil
	})
	if err == nil && out == nil {
		err = errors.New("the entry is gone from its block")
	}
	return out, err
}

func (s *salvager) vlogValue(e *kv, user []byte) ([]byte, error) {
	vp, ok := decodeValuePointer(e.value)
	if !ok {
		return nil, errors.New("bad value pointer")
	}
	path := filepath.Join(s.dir, fmt.Sprintf("%06d.vlog", vp.fid))
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("value log %s: %w", filepath.Base(path), err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("value log %s: %w", filepath.Base(path), err)
	}
	if int64(vp.offset)+int64(vp.len) > st.Size() {
		return nil, fmt.Errorf("its entry lies past the end of value log %s", filepath.Base(path))
	}
	raw := make([]byte, vp.len)
	if _, err := f.ReadAt(raw, int64(vp.offset)); err != nil {
		return nil, fmt.Errorf("value log %s: %w", filepath.Base(path), err)
	}
	le, ok := readLogEntry(raw)
	if !ok {
		s.damage(damaged(path, int64(vp.offset), "an entry fails its checksum"))
		return nil, fmt.Errorf("its entry in value log %s fails its checksum", filepath.Base(path))
	}
	if u, _, _ := splitKey(le.key); !bytes.Equal(u, user) {
		return nil, fmt.Errorf("value log %s holds another key where this one's value should be", filepath.Base(path))
	}
	return le.value, nil
}

// live reports whether a key's newest version holds a value.
func (e *kv) live() bool {
	if e.meta&metaDelete != 0 {
		return false
	}
	return e.expires == 0 || e.expires > uint64(time.Now().Unix())
}

// objParts are an object's parts as found.
type objParts struct {
	data    []byte // nil when lost
	buckets map[int][]byte
}

// write copies what was read into im, which must be empty.
func (s *salvager) write(im *Image) error {
	keys := make([]string, 0, len(s.best))
	for k, e := range s.best {
		if e.live() {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	empty := true
	if err := im.View(s.ctx, func(tx *Tx) error {
		empty = tx.imageIsEmpty()
		return nil
	}); err != nil {
		return err
	}
	if !empty {
		return ErrNotEmpty
	}
	wb := im.st.NewBatch()
	defer wb.Cancel()
	put := func(k, v []byte) error { return wb.Set(bytes.Clone(k), bytes.Clone(v)) }
	var seqFloor uint64

	objects := map[OID]*objParts{}
	history := map[OID]map[string]Method{} // the newest kept version of each selector
	manifests := map[string][2]int64{}     // blob id → size, chunks
	refs := map[OID]string{}               // referenced OIDs → by what
	for _, k := range keys {
		if err := s.ctx.Err(); err != nil {
			return err
		}
		key := []byte(k)
		e := s.best[k]
		val, err := s.value(e, key)
		if err != nil {
			s.loseKey(key, fmt.Sprintf("unreadable (%s): %v", e.file, err))
			continue
		}
		if s.inDamagedRange(key) {
			s.rep.Stale = append(s.rep.Stale, s.describe(key, "a newer version may have been in a damaged block; this one is from "+e.file))
		}
		switch {
		case bytes.Equal(key, keyFormat):
		case bytes.Equal(key, keyOIDSeq):
			if len(val) == 8 {
				seqFloor = max(seqFloor, binary.BigEndian.Uint64(val))
			}
		case len(key) == 9 && key[0] == pfxObject:
			oid := OID(binary.BigEndian.Uint64(key[1:]))
			p := partsOf(objects, oid)
			p.data = bytes.Clone(val)
			seqFloor = max(seqFloor, uint64(oid)+1)
		case len(key) == 10 && key[0] == pfxMethods && key[9] < methodBuckets:
			oid := OID(binary.BigEndian.Uint64(key[1:9]))
			partsOf(objects, oid).buckets[int(key[9])] = bytes.Clone(val)
		case len(key) > 13 && key[0] == pfxHistory:
			m, err := decodeMethod(key, val)
			oid := OID(binary.BigEndian.Uint64(key[1:9]))
			if err != nil {
				s.lose(Loss{Kind: "method version", OID: oid, Name: historyName(key), Reason: err.Error()})
				continue
			}
			if history[oid] == nil {
				history[oid] = map[string]Method{}
			}
			if m.Version >= history[oid][m.Selector].Version {
				history[oid][m.Selector] = m
			}
			refs[oid] = fmt.Sprintf("the history of method %q", m.Selector)
			if err := put(key, val); err != nil {
				return err
			}
			s.rep.MethodVersions++
		case key[0] == pfxRoot:
			p, cerr := unframe(key, val)
			oid, n := binary.Uvarint(p)
			if cerr != nil || n <= 0 || n != len(p) {
				s.lose(Loss{Kind: "root", Name: string(key[1:]), Reason: "damaged"})
				continue
			}
			refs[OID(oid)] = fmt.Sprintf("root %q", key[1:])
			if err := put(key, val); err != nil {
				return err
			}
			s.rep.Roots++
		case key[0] == pfxRecord:
			if _, cerr := unframe(key, val); cerr != nil {
				s.lose(Loss{Kind: "record", Name: recordName(key), Reason: cerr.Reason})
				continue
			}
			if err := put(key, val); err != nil {
				return err
			}
			s.rep.Records++
		case key[0] == pfxBlob:
			man, cerr := unframe(key, val)
			size, a := binary.Varint(man)
			if cerr != nil || a <= 0 {
				s.lose(Loss{Kind: "blob", Name: string(key[1:]), Reason: "damaged manifest"})
				continue
			}
			chunks, b := binary.Uvarint(man[a:])
			if b <= 0 || chunks > 1<<31 {
				s.lose(Loss{Kind: "blob", Name: string(key[1:]), Reason: "damaged manifest"})
				continue
			}
			manifests[string(key[1:])] = [2]int64{size, int64(chunks)}
		case key[0] == pfxChunk:
			// copied with their blob, below
		default:
			if err := put(key, val); err != nil { // not uvm's: copied as it is
				return err
			}
		}
	}
	written := map[OID]bool{}
	for _, oid := range slices.Sorted(maps.Keys(objects)) {
		if err := s.ctx.Err(); err != nil {
			return err
		}
		data, meth, ok := s.rebuildObject(oid, objects[oid], history[oid], refs)
		if !ok {
			continue
		}
		written[oid] = true
		if err := put(objKey(oid), data); err != nil {
			return err
		}
		for b, part := range meth {
			if part != nil {
				if err := put(methKey(oid, b), part); err != nil {
					return err
				}
			}
		}
		s.rep.Objects++
	}
	if err := s.copyBlobs(manifests, keys, put); err != nil {
		return err
	}
	for _, oid := range slices.Sorted(maps.Keys(refs)) {
		if !written[oid] {
			s.rep.Missing = append(s.rep.Missing, Loss{Kind: "object", OID: oid, Reason: "referred to by " + refs[oid] + ", not found"})
		}
	}
	if err := wb.Flush(); err != nil {
		return err
	}
	return im.raiseSequence(seqFloor)
}

func partsOf(m map[OID]*objParts, oid OID) *objParts {
	p := m[oid]
	if p == nil {
		p = &objParts{buckets: map[int][]byte{}}
		m[oid] = p
	}
	return p
}

// rebuildObject decodes what is readable of an object's parts, restores
// method slots lost with their bucket from the history, records the
// object's references, and encodes it again. ok is false when nothing of
// the object could be read.
func (s *salvager) rebuildObject(oid OID, p *objParts, hist map[string]Method, refs map[OID]string) (data []byte, meth [methodBuckets][]byte, ok bool) {
	slots := map[string]any{}
	var mask int64 = -1 // unknown: every bucket is expected
	if p.data != nil {
		got, lost, why := salvageSlots(objKey(oid), p.data)
		for _, n := range lost {
			if n == methodsMarker {
				mask = -1 // which method parts the object has is unknown: look for all
				continue
			}
			s.lose(Loss{Kind: "slot", OID: oid, Name: n, Reason: "fails its checksum"})
		}
		if why != "" {
			s.lose(Loss{Kind: "slot", OID: oid, Name: "(the rest)", Reason: why})
		}
		if m, has := got[methodsMarker]; has {
			mask, _ = m.(int64)
			delete(got, methodsMarker)
		} else if why == "" && mask != -1 {
			mask = 0
		}
		maps.Copy(slots, got) // a layout 1 object keeps its methods here too
	} else {
		s.lose(Loss{Kind: "object", OID: oid, Reason: "its data slots were lost (only its methods were found)"})
	}
	for b := range methodBuckets {
		raw, has := p.buckets[b]
		if !has {
			if mask&(1<<b) != 0 && mask != -1 {
				s.restoreMethods(oid, b, slots, hist, "its part of the object is missing")
			}
			continue
		}
		got, lost, why := salvageSlots(methKey(oid, b), raw)
		for _, n := range lost {
			s.lose(Loss{Kind: "slot", OID: oid, Name: n, Reason: "fails its checksum"})
		}
		for n, v := range got {
			if isMethod(v) && bucketOf(n) == b {
				slots[n] = v
			}
		}
		if why != "" || len(lost) > 0 {
			s.restoreMethods(oid, b, slots, hist, "its part of the object is damaged")
		}
	}
	if mask == -1 {
		for b := range methodBuckets {
			if _, has := p.buckets[b]; !has {
				s.restoreMethods(oid, b, slots, hist, "its part of the object may be lost")
			}
		}
	}
	if p.data == nil && len(slots) == 0 {
		return nil, meth, false
	}
	for n, v := range slots {
		if !isMethod(v) {
			collectRefs(v, func(r OID) { refs[r] = fmt.Sprintf("object %d slot %q", oid, n) })
		}
	}
	data, meth = encodeParts(slots, 0)
	return data, meth, true
}

// restoreMethods puts back, from the history, the newest version of every
// method of bucket b that slots lacks.
func (s *salvager) restoreMethods(oid OID, b int, slots map[string]any, hist map[string]Method, why string) {
	for _, sel := range slices.Sorted(maps.Keys(hist)) {
		if _, has := slots[sel]; has || bucketOf(sel) != b {
			continue
		}
		m := hist[sel]
		slots[sel] = m
		s.rep.Stale = append(s.rep.Stale, Loss{Kind: "method", OID: oid, Name: sel,
			Reason: fmt.Sprintf("%s; restored as its newest kept version, v%d, which was current unless an older one had been reverted to", why, m.Version)})
	}
}

func collectRefs(v any, fn func(OID)) {
	switch x := v.(type) {
	case Ref:
		fn(x.OID)
	case []any:
		for _, e := range x {
			collectRefs(e, fn)
		}
	case map[string]any:
		for _, e := range x {
			collectRefs(e, fn)
		}
	}
}

// salvageSlots decodes the slots of a framed object part, keeping every
// slot whose checksum holds: a damaged slot is skipped (its name is
// returned in lost, as read), and decoding stops only where the framing
// itself is damaged (why says so).
func salvageSlots(key, b []byte) (slots map[string]any, lost []string, why string) {
	slots = map[string]any{}
	if len(b) < 5 || b[0] != formatVersion {
		return slots, nil, "the part's header is damaged"
	}
	d := decoder{b: b[5:]}
	n, err := d.uvarint()
	if err != nil || n > uint64(len(d.b)) {
		return slots, nil, "bad slot count"
	}
	for i := range n {
		name, err := d.string()
		if err != nil {
			return slots, lost, fmt.Sprintf("slot #%d and after: bad name", i)
		}
		size, err := d.uvarint()
		if err != nil || uint64(len(d.b)) < 4 || size > uint64(len(d.b))-4 {
			return slots, lost, fmt.Sprintf("slot %q and after: truncated", name)
		}
		sum := binary.LittleEndian.Uint32(d.b)
		val := d.b[4 : 4+size]
		d.b = d.b[4+size:]
		if crc32.Update(crc32.Checksum([]byte(name), castagnoli), castagnoli, val) != sum {
			lost = append(lost, name)
			continue
		}
		vd := decoder{b: val}
		v, err := vd.value()
		if err != nil || len(vd.b) != 0 {
			lost = append(lost, name)
			continue
		}
		slots[name] = v
	}
	return slots, lost, ""
}

// copyBlobs copies every blob whose manifest and chunks are intact and
// whose content matches its address.
func (s *salvager) copyBlobs(manifests map[string][2]int64, keys []string, put func(k, v []byte) error) error {
	chunked := map[string]bool{}
	for _, k := range keys {
		if k[0] == pfxChunk {
			if i := strings.IndexByte(k, 0); i > 0 {
				chunked[k[1:i]] = true
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(manifests)) {
		size, chunks := manifests[id][0], int(manifests[id][1])
		why := ""
		h := sha256.New()
		var total int64
		for i := 0; i < chunks && why == ""; i++ {
			ck := chunkKey(id, i)
			e, ok := s.best[string(ck)]
			if !ok || !e.live() {
				why = fmt.Sprintf("chunk %d is missing", i)
				break
			}
			v, err := s.value(e, ck)
			if err != nil {
				why = fmt.Sprintf("chunk %d: %v", i, err)
				break
			}
			p, cerr := unframe(ck, v)
			if cerr != nil {
				why = fmt.Sprintf("chunk %d: %s", i, cerr.Reason)
				break
			}
			h.Write(p)
			total += int64(len(p))
		}
		if why == "" && (total != size || hex.EncodeToString(h.Sum(nil)) != id) {
			why = "its content does not match its address"
		}
		delete(chunked, id)
		if why != "" {
			s.lose(Loss{Kind: "blob", Name: id, Reason: why})
			continue
		}
		for i := range chunks {
			ck := chunkKey(id, i)
			v, err := s.value(s.best[string(ck)], ck)
			if err != nil {
				return err
			}
			if err := put(ck, v); err != nil {
				return err
			}
		}
		mv, _ := s.value(s.best[string(blobKey(id))], blobKey(id))
		if err := put(blobKey(id), mv); err != nil {
			return err
		}
		s.rep.Blobs++
	}
	for _, id := range slices.Sorted(maps.Keys(chunked)) {
		s.lose(Loss{Kind: "blob", Name: id, Reason: "chunks without a manifest: a blob still being written, or one whose manifest was lost"})
	}
	return nil
}

func (s *salvager) inDamagedRange(user []byte) bool {
	for _, r := range s.ranges {
		if bytes.Compare(user, r.from) >= 0 && (r.to == nil || bytes.Compare(user, r.to) <= 0) {
			return true
		}
	}
	return false
}

// loseKey reports an unreadable key in uvm's terms.
func (s *salvager) loseKey(key []byte, why string) { s.lose(s.describe(key, why)) }

func (s *salvager) describe(key []byte, why string) Loss {
	switch {
	case len(key) == 9 && key[0] == pfxObject:
		return Loss{Kind: "object", OID: OID(binary.BigEndian.Uint64(key[1:])), Name: "(data slots)", Reason: why}
	case len(key) == 10 && key[0] == pfxMethods:
		return Loss{Kind: "object", OID: OID(binary.BigEndian.Uint64(key[1:9])), Name: fmt.Sprintf("(methods, part %d)", key[9]), Reason: why}
	case len(key) > 13 && key[0] == pfxHistory:
		return Loss{Kind: "method version", OID: OID(binary.BigEndian.Uint64(key[1:9])), Name: historyName(key), Reason: why}
	case len(key) > 0 && key[0] == pfxRoot:
		return Loss{Kind: "root", Name: string(key[1:]), Reason: why}
	case len(key) > 0 && key[0] == pfxRecord:
		return Loss{Kind: "record", Name: recordName(key), Reason: why}
	case len(key) > 0 && (key[0] == pfxBlob || key[0] == pfxChunk):
		id, _, _ := strings.Cut(string(key[1:]), "\x00")
		return Loss{Kind: "blob", Name: id, Reason: why}
	}
	return Loss{Kind: "key", Name: printableKey(key), Reason: why}
}

// historyName renders a history key as "selector v3".
func historyName(key []byte) string {
	sel := key[9 : len(key)-5]
	return fmt.Sprintf("%s v%d", sel, binary.BigEndian.Uint32(key[len(key)-4:]))
}

// recordName renders a record key as "namespace/key".
func recordName(key []byte) string {
	ns, k, _ := strings.Cut(string(key[1:]), "\x00")
	return ns + "/" + k
}

// imageIsEmpty reports whether the image holds no key but its format
// marker and OID sequence.
func (tx *Tx) imageIsEmpty() bool {
	empty := true
	_ = tx.txn.Scan(nil, false, func(k, _ []byte) error {
		if !bytes.Equal(k, keyFormat) && !bytes.Equal(k, keyOIDSeq) {
			empty = false
			return errStopScan
		}
		return nil
	})
	return empty
}
