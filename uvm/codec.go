package uvm

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"
	"strconv"
	"sync"
)

// formatVersion is the version of the value framing and slot encoding this
// package writes. Values carry it in their first byte; Open refuses images
// whose format is newer.
const formatVersion = 1

// imageLayout is the version of the key layout, kept in the image's
// format marker. Layout 2 keeps an object's method slots apart from its
// data, spread over methodBuckets keys by a hash of the selector, so that
// changing its data rewrites none of its methods and installing a method
// rewrites a sixteenth of them. Layout 1 images (methods with the data)
// are read as they are and upgraded object by object as they are written.
const imageLayout = 2

// methodBuckets is how many keys an object's methods are spread over.
const methodBuckets = 16

// methodsMarker is a pseudo-slot of an object's data part: a bit mask of
// the method buckets the object has. It cannot clash with a slot: names
// may not hold control characters. An object with methods is written with
// every bucket (allParts, empty ones too), so that installing a method
// changes only its own bucket, never the data part: transactions that
// install different methods of one object do not conflict (Object.readPart).
const methodsMarker = "\x00methods"

// allParts is the methods marker of an object written with methods.
const allParts = 1<<methodBuckets - 1

// bucketOf returns the method bucket of a selector (FNV-1a).
func bucketOf(name string) int {
	h := uint32(2166136261)
	for i := 0; i < len(name); i++ {
		h ^= uint32(name[i])
		h *= 16777619
	}
	return int(h % methodBuckets)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Key prefixes of the storage layout.
const (
	pfxObject  = 'o' // o + oid(8)                → object: data slots
	pfxMethods = 'p' // p + oid(8) + bucket(1)    → object: method slots
	pfxRoot    = 'r' // r + name                  → oid
	pfxHistory = 'h' // h + oid(8) + sel + 0 + v(4) → method version
	pfxRecord  = 'x' // x + ns + 0 + key          → record bytes
	pfxChunk   = 'b' // b + id + 0 + n(4)         → blob chunk
	pfxBlob    = 'B' // B + id                    → blob manifest
	pfxLease   = 'l' // l + name                  → holder + 0 + expiry (unix ns, 8)
)

var (
	keyFormat = []byte("m/format")
	keyOIDSeq = []byte("m/oid")
)

func objKey(oid OID) []byte {
	return binary.BigEndian.AppendUint64([]byte{pfxObject}, uint64(oid))
}

// methPrefix is the prefix of every methods part of an object.
func methPrefix(oid OID) []byte {
	return binary.BigEndian.AppendUint64([]byte{pfxMethods}, uint64(oid))
}

func methKey(oid OID, bucket int) []byte {
	return append(binary.BigEndian.AppendUint64([]byte{pfxMethods}, uint64(oid)), byte(bucket))
}

func rootKey(name string) []byte { return append([]byte{pfxRoot}, name...) }

func historyPrefix(oid OID, sel string) []byte {
	k := binary.BigEndian.AppendUint64([]byte{pfxHistory}, uint64(oid))
	k = append(k, sel...)
	return append(k, 0)
}

func historyKey(oid OID, sel string, v int) []byte {
	return binary.BigEndian.AppendUint32(historyPrefix(oid, sel), uint32(v))
}

func recordKey(ns, key string) []byte {
	k := append([]byte{pfxRecord}, ns...)
	k = append(k, 0)
	return append(k, key...)
}

func printableKey(k []byte) string {
	if len(k) == 9 && k[0] == pfxObject {
		return "o/" + strconv.FormatUint(binary.BigEndian.Uint64(k[1:]), 10)
	}
	if len(k) == 10 && k[0] == pfxMethods {
		return "p/" + strconv.FormatUint(binary.BigEndian.Uint64(k[1:9]), 10) + "/" + strconv.Itoa(int(k[9]))
	}
	return strconv.Quote(string(k))
}

// frame wraps a payload: format byte, CRC32C of the payload, payload.
func frame(payload []byte) []byte {
	out := make([]byte, 5, 5+len(payload))
	out[0] = formatVersion
	binary.LittleEndian.PutUint32(out[1:], crc32.Checksum(payload, castagnoli))
	return append(out, payload...)
}

// unframe checks a framed value and returns its payload, which aliases b.
func unframe(key []byte, b []byte) ([]byte, *CorruptError) {
	switch {
	case len(b) == 0:
		// Badger can hand back a lost value-log entry as an empty value.
		return nil, &CorruptError{Key: printableKey(key), Reason: "empty value"}
	case len(b) < 5:
		return nil, &CorruptError{Key: printableKey(key), Reason: fmt.Sprintf("value of %d bytes is shorter than its header", len(b))}
	case b[0] != formatVersion:
		return nil, &CorruptError{Key: printableKey(key), Reason: fmt.Sprintf("unknown format version %d", b[0])}
	}
	payload := b[5:]
	if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(b[1:5]) {
		return payload, &CorruptError{Key: printableKey(key), Reason: "checksum mismatch"}
	}
	return payload, nil
}

// encodeSlot appends one slot: name, value length, CRC32C over name and
// value, value. The per-slot checksum lets a damaged object name its slot.
func encodeSlot(b []byte, name string, v any) []byte {
	b = appendString(b, name)
	var val []byte
	if l, ok := v.(lazyMethod); ok {
		val = l.enc // still encoded as loaded: no copy
	} else {
		val = encodeValue(nil, v)
	}
	b = binary.AppendUvarint(b, uint64(len(val)))
	sum := crc32.Update(crc32.Checksum([]byte(name), castagnoli), castagnoli, val)
	b = binary.LittleEndian.AppendUint32(b, sum)
	return append(b, val...)
}

// encodeObject returns the framed encoding of a set of slots, sorted by
// name. sizeHint (the size of the encoding as loaded, or 0) saves the
// buffer's regrowth for large objects.
func encodeObject(slots map[string]any, sizeHint int) []byte {
	names := make([]string, 0, len(slots))
	for n := range slots {
		names = append(names, n)
	}
	slices.Sort(names)
	b := make([]byte, 5, 5+max(sizeHint+64, 64))
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, n := range names {
		b = encodeSlot(b, n, slots[n])
	}
	// The frame (see frame), written in place.
	b[0] = formatVersion
	binary.LittleEndian.PutUint32(b[1:5], crc32.Checksum(b[5:], castagnoli))
	return b
}

func isMethod(v any) bool {
	switch v.(type) {
	case Method, lazyMethod:
		return true
	}
	return false
}

// encodeParts encodes an object in layout 2, every part from slots: its
// data part (with the methods marker when it has methods) and, when it
// has methods, every method bucket (see methodsMarker); without methods
// the buckets are nil. hintData is the data part's size as loaded.
func encodeParts(slots map[string]any, hintData int) (data []byte, meth [methodBuckets][]byte) {
	d := make(map[string]any, len(slots))
	var buckets [methodBuckets]map[string]any
	methods := false
	for n, v := range slots {
		if !isMethod(v) {
			d[n] = v
			continue
		}
		methods = true
		b := bucketOf(n)
		if buckets[b] == nil {
			buckets[b] = map[string]any{}
		}
		buckets[b][n] = v
	}
	if methods {
		for b, m := range buckets {
			meth[b] = encodeObject(m, 0)
		}
		d[methodsMarker] = int64(allParts)
	}
	return encodeObject(d, hintData), meth
}

// decodeObject decodes a framed object. On damage it names the slot when it can.
func decodeObject(oid OID, key, b []byte) (map[string]any, error) {
	payload, cerr := unframe(key, b)
	if cerr != nil && payload == nil {
		cerr.OID = oid
		return nil, cerr
	}
	slots, slot, reason := decodeSlots(payload)
	if reason != "" {
		return nil, &CorruptError{Key: printableKey(key), OID: oid, Slot: slot, Reason: reason}
	}
	if cerr != nil { // whole-value checksum failed but no slot did: framing damage
		cerr.OID = oid
		return nil, cerr
	}
	return slots, nil
}

func decodeSlots(payload []byte) (slots map[string]any, slot, reason string) {
	d := decoder{b: payload}
	n, err := d.uvarint()
	if err != nil || n > uint64(len(payload)) {
		return nil, "", "bad slot count"
	}
	slots = make(map[string]any, n)
	for i := range n {
		name, err := d.string()
		if err != nil {
			return nil, slot, fmt.Sprintf("slot #%d: bad name", i)
		}
		slot = name
		size, err := d.uvarint()
		if err != nil || uint64(len(d.b)) < 4 || size > uint64(len(d.b))-4 {
			return nil, slot, "truncated slot"
		}
		sum := binary.LittleEndian.Uint32(d.b)
		val := d.b[4 : 4+size]
		d.b = d.b[4+size:]
		if crc32.Update(crc32.Checksum([]byte(name), castagnoli), castagnoli, val) != sum {
			return nil, slot, "slot checksum mismatch"
		}
		vd := decoder{b: val}
		var v any
		if len(val) > 0 && val[0] == tagMethod {
			// Methods are the bulk of a prototype's bytes and are rarely
			// read as values: check the encoding now, decode on first use.
			err = vd.skip()
			v = lazyMethod{enc: val}
		} else {
			v, err = vd.value()
		}
		if err != nil {
			return nil, slot, "undecodable value: " + err.Error()
		}
		if len(vd.b) != 0 {
			return nil, slot, "trailing bytes after value"
		}
		slots[name] = v
	}
	if len(d.b) != 0 {
		return nil, "", "trailing bytes after last slot"
	}
	return slots, "", ""
}

// slotBytes returns the encoding of each slot of a framed object, for naming
// the slot that differs in a covenant violation.
func slotEncodings(slots map[string]any) map[string]string {
	out := make(map[string]string, len(slots))
	for n, v := range slots {
		out[n] = string(encodeValue(nil, v))
	}
	return out
}

// bucketCache keeps decoded method buckets by OID, bucket and Badger
// version, so that loading an object holding many methods does not decode
// them all again in every transaction. Entries are immutable; the cache
// starts over when full.
type bucketCache struct {
	mu sync.Mutex
	m  map[bucketKey]cachedBucket
}

type bucketKey struct {
	oid     OID
	b       int
	version uint64
}

type cachedBucket struct {
	raw   []byte
	slots map[string]any
}

// bucketCacheSize bounds the cache: about sixteen objects with methods in
// every bucket per 256 entries.
const bucketCacheSize = 4096

func (c *bucketCache) get(k bucketKey) ([]byte, map[string]any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	return e.raw, e.slots, ok
}

func (c *bucketCache) put(k bucketKey, raw []byte, slots map[string]any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= bucketCacheSize {
		c.m = make(map[bucketKey]cachedBucket)
	}
	c.m[k] = cachedBucket{raw: raw, slots: slots}
}
