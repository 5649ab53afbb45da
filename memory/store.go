package memory

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/batos-dev/batos/uvm"
)

// The catalog's records in the image, under the namespace prefix N
// (Options.Namespace, "memory" by default):
//
//	N.meta   "catalog"               → metaRecord (JSON): embedder name, dimension, vector tag
//	         "seed/<source>"         → SHA-256 of the codex last seeded from that source
//	N.doc    <doc id>                → docRecord (JSON): generation, kind, source, metadata, chunk count
//	N.chunk  <doc id> NUL <index>    → chunkRecord (JSON): text and its SHA-256
//	N.vec    <tag> "/" <text hash>   → the text's unit vector, little-endian float32
//	N.ref    <text hash> NUL <doc id> NUL <index> → 1 (which chunks use a vector)
//
// The tag is the first 16 hex digits of the SHA-256 of the embedder's name,
// so vectors of two embedders can never be confused. A vector is stored once
// per distinct text, however many chunks hold that text, and deleted when
// the last of them goes.

const (
	metaKey   = "catalog"
	formatV1  = 1
	indexBase = 10
)

type names struct{ meta, doc, chunk, vec, ref string }

func newNames(base string) names {
	return names{meta: base + ".meta", doc: base + ".doc", chunk: base + ".chunk", vec: base + ".vec", ref: base + ".ref"}
}

type metaRecord struct {
	Version  int      `json:"v"`
	Embedder string   `json:"embedder"`
	Dims     int      `json:"dims"`
	Tag      string   `json:"tag"`
	Cleanup  []string `json:"cleanup,omitempty"` // tags whose vectors are still to be deleted
}

type docRecord struct {
	Gen     uint64            `json:"gen"`
	Deleted bool              `json:"deleted,omitempty"`
	Kind    string            `json:"kind,omitempty"`
	Source  string            `json:"source,omitempty"`
	Meta    map[string]string `json:"meta,omitempty"`
	Hash    string            `json:"hash,omitempty"`
	Chunks  int               `json:"chunks,omitempty"`
}

type chunkRecord struct {
	Hash string `json:"h"`
	Text string `json:"t"`
}

func embedderTag(name string) string {
	s := sha256.Sum256([]byte(name))
	return hex.EncodeToString(s[:8])
}

func textHash(text string) string {
	s := sha256.Sum256([]byte(text))
	return hex.EncodeToString(s[:])
}

func chunkKey(docID string, i int) string { return docID + "\x00" + fmt.Sprintf("%06d", i) }

// splitChunkKey is chunkKey's inverse.
func splitChunkKey(key string) (string, int, bool) {
	j := strings.LastIndexByte(key, 0)
	if j < 0 {
		return "", 0, false
	}
	i, err := strconv.ParseUint(key[j+1:], indexBase, 31)
	if err != nil {
		return "", 0, false
	}
	return key[:j], int(i), true
}

func vecKey(tag, hash string) string          { return tag + "/" + hash }
func refKey(hash, docID string, i int) string { return hash + "\x00" + chunkKey(docID, i) }
func chunkID(docID string, i int) string      { return docID + "#" + strconv.Itoa(i) }
func seedKey(source string) string            { return "seed/" + source }
func refPrefix(hash string) string            { return hash + "\x00" }
func docChunkPrefix(docID string) string      { return docID + "\x00" }
func corrupt(ns, key, reason string) error {
	return &CorruptError{Namespace: ns, Key: key, Reason: reason}
}
func isNotFound(err error) bool { return errors.Is(err, uvm.ErrNotFound) }
func encodeJSON(v any) []byte   { b, _ := json.Marshal(v); return b }
func decodeJSON(ns, key string, b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return corrupt(ns, key, err.Error())
	}
	return nil
}

func encodeVec(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func decodeVec(ns, key string, b []byte) ([]float32, error) {
	if len(b) == 0 || len(b)%4 != 0 {
		return nil, corrupt(ns, key, fmt.Sprintf("vector of %d bytes", len(b)))
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}

// readMeta reads the catalog's meta record; ok is false when there is none.
func (n names) readMeta(tx *uvm.Tx) (metaRecord, bool, error) {
	var m metaRecord
	b, err := tx.GetRecord(n.meta, metaKey)
	if isNotFound(err) {
		return m, false, nil
	}
	if err != nil {
		return m, false, err
	}
	if err := decodeJSON(n.meta, metaKey, b, &m); err != nil {
		return m, false, err
	}
	if m.Version != formatV1 || m.Tag == "" {
		return m, false, corrupt(n.meta, metaKey, fmt.Sprintf("unknown catalog format %d", m.Version))
	}
	return m, true, nil
}

func (n names) writeMeta(tx *uvm.Tx, m metaRecord) error {
	m.Version = formatV1
	return tx.PutRecord(n.meta, metaKey, encodeJSON(m))
}

// readDoc reads a document's record; ok is false when there is none.
func (n names) readDoc(tx *uvm.Tx, id string) (docRecord, bool, error) {
	var d docRecord
	b, err := tx.GetRecord(n.doc, id)
	if isNotFound(err) {
		return d, false, nil
	}
	if err != nil {
		return d, false, err
	}
	if err := decodeJSON(n.doc, id, b, &d); err != nil {
		return d, false, err
	}
	return d, true, nil
}

// hasRefs reports whether any chunk still uses the vector of hash.
func (n names) hasRefs(tx *uvm.Tx, hash string) (bool, error) {
	found := false
	err := tx.RecordKeys(n.ref, refPrefix(hash), func(string) error { // keys only: a damaged value still counts
		found = true
		return errStop
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return found, err
}

// errStop ends a scan early.
var errStop = errors.New("memory: stop scan")
