package memory_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"log/slog"
	"testing"

	"github.com/batos-dev/batos/memory"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/require"
)

// record names a record of the image: namespace and key.
type record struct{ ns, key string }

// damaged returns a copy of im in which the given records fail their
// checksums: it edits a backup of im (the format is uvm/backup.go's:
// magic line; uvarint-length key and value pairs; a zero; the CRC32C of
// all before it) and restores it into a new in-memory image.
func damaged(t *testing.T, im *uvm.Image, recs ...record) *uvm.Image {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, im.Backup(context.Background(), &buf))
	b := buf.Bytes()
	magic := bytes.IndexByte(b, '\n') + 1
	out := bytes.Clone(b[:magic])
	want := map[string]bool{}
	for _, r := range recs {
		want["x"+r.ns+"\x00"+r.key] = true
	}
	p := magic
	read := func() []byte {
		n, k := binary.Uvarint(b[p:])
		require.Positive(t, k)
		p += k
		v := b[p : p+int(n)]
		p += int(n)
		return v
	}
	found := 0
	for b[p] != 0 {
		k, v := read(), bytes.Clone(read())
		if want[string(k)] {
			v[len(v)-1] ^= 0xff
			found++
		}
		out = binary.AppendUvarint(out, uint64(len(k)))
		out = append(out, k...)
		out = binary.AppendUvarint(out, uint64(len(v)))
		out = append(out, v...)
	}
	require.Equal(t, len(recs), found, "every record to damage is in the image")
	out = append(out, 0)
	out = binary.LittleEndian.AppendUint32(out, crc32.Checksum(out, crc32.MakeTable(crc32.Castagnoli)))
	cp := uvmtest.Mem(t, uvm.Options{})
	require.NoError(t, cp.Restore(context.Background(), bytes.NewReader(out)))
	return cp
}

// logged collects the warnings a catalog logs.
type logged struct{ bytes.Buffer }

func (l *logged) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(&l.Buffer, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// vectorKey returns the key of the stored vector of a chunk, read from
// the chunk's record.
func chunkHash(t *testing.T, im *uvm.Image, doc string) string {
	t.Helper()
	var hash string
	uvmtest.View(t, im, func(tx *uvm.Tx) error {
		b, err := tx.GetRecord("memory.chunk", doc+"\x00000000")
		require.NoError(t, err)
		i := bytes.Index(b, []byte(`"h":"`)) + 5
		hash = string(b[i : i+64])
		return nil
	})
	return hash
}

// vecRecord returns the record of the first vector under the catalog's
// embedder tag whose key ends with hash.
func vecRecord(t *testing.T, im *uvm.Image, hash string) record {
	t.Helper()
	var key string
	uvmtest.View(t, im, func(tx *uvm.Tx) error {
		return tx.RecordKeys("memory.vec", "", func(k string) error {
			if len(k) > 64 && k[len(k)-64:] == hash {
				key = k
			}
			return nil
		})
	})
	require.NotEmpty(t, key)
	return record{"memory.vec", key}
}

func TestOpenRebuildsDamagedDerivedRecords(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{})
	c := openCatalog(t, im, memory.Options{})
	add(t, c, im, animals...)
	require.Equal(t, []string{"bees"}, docIDs(search(t, c, "honey from flowers", 1, nil)))

	cases := []struct {
		name    string
		damage  func(t *testing.T) *uvm.Image
		dropped string // the document no longer found, if any
		warning string
	}{
		{"a vector", func(t *testing.T) *uvm.Image {
			return damaged(t, im, vecRecord(t, im, chunkHash(t, im, "bees")))
		}, "", "re-embedded 1"},
		{"a vector of the wrong size", func(t *testing.T) *uvm.Image {
			cp := damaged(t, im)
			rec := vecRecord(t, cp, chunkHash(t, cp, "bees"))
			uvmtest.Update(t, cp, func(tx *uvm.Tx) error { return tx.PutRecord(rec.ns, rec.key, []byte{1, 2, 3, 4}) })
			return cp
		}, "", "re-embedded 1"},
		{"a chunk", func(t *testing.T) *uvm.Image {
			return damaged(t, im, record{"memory.chunk", "bees\x00000000"})
		}, "bees", "chunk 0 is damaged"},
		{"a document record", func(t *testing.T) *uvm.Image {
			return damaged(t, im, record{"memory.doc", "ships"})
		}, "ships", "its record is damaged"},
		{"a document record that is not JSON", func(t *testing.T) *uvm.Image {
			cp := damaged(t, im)
			uvmtest.Update(t, cp, func(tx *uvm.Tx) error { return tx.PutRecord("memory.doc", "ships", []byte("{not json")) })
			return cp
		}, "ships", "its record is damaged"},
		{"a reference", func(t *testing.T) *uvm.Image {
			var key string
			uvmtest.View(t, im, func(tx *uvm.Tx) error {
				return tx.RecordKeys("memory.ref", chunkHash(t, im, "cats"), func(k string) error { key = k; return nil })
			})
			return damaged(t, im, record{"memory.ref", key})
		}, "", ""}, // references are only counted: a damaged one still counts
		{"the catalog record", func(t *testing.T) *uvm.Image {
			return damaged(t, im, record{"memory.meta", "catalog"})
		}, "", "the catalog record was damaged"},
		{"the catalog record, not JSON", func(t *testing.T) *uvm.Image {
			cp := damaged(t, im)
			uvmtest.Update(t, cp, func(tx *uvm.Tx) error { return tx.PutRecord("memory.meta", "catalog", []byte("{not json")) })
			return cp
		}, "", "the catalog record was damaged"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cp := tc.damage(t)
			var log logged
			c, err := memory.Open(t.Context(), cp, memory.Options{Logger: log.logger()})
			require.NoError(t, err, "damaged derived data does not stop Open")
			if tc.warning == "" {
				require.Empty(t, log.String())
			} else {
				require.Contains(t, log.String(), tc.warning)
				require.Contains(t, log.String(), tc.dropped, "the warning names the document")
			}
			for _, d := range animals {
				rs := search(t, c, d.Text, 1, nil)
				if d.ID == tc.dropped {
					require.NotEqual(t, []string{d.ID}, docIDs(rs), "the dropped document is not found")
					continue
				}
				require.Equal(t, []string{d.ID}, docIDs(rs), "document %s is found by its own text", d.ID)
			}
			want := len(animals)
			if tc.dropped != "" {
				want--
			}
			require.Equal(t, want, c.Stats().Documents)

			// The repair was committed: the next Open finds nothing to do,
			// and the dropped document can be added again.
			log.Reset()
			c, err = memory.Open(t.Context(), cp, memory.Options{Logger: log.logger()})
			require.NoError(t, err)
			require.Empty(t, log.String())
			add(t, c, cp, animals...)
			require.Equal(t, len(animals), c.Stats().Documents)
		})
	}
}

// TestCorruptVectorIsRebuilt: a vector that does not decode (it was an
// error naming the record, failing Open) is deleted, named in a warning,
// and embedded again.
func TestCorruptVectorIsRebuilt(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{})
	c := openCatalog(t, im, memory.Options{})
	add(t, c, im, animals[0])
	var key string
	uvmtest.View(t, im, func(tx *uvm.Tx) error {
		return tx.RecordKeys("memory.vec", "", func(k string) error { key = k; return nil })
	})
	uvmtest.Update(t, im, func(tx *uvm.Tx) error { return tx.PutRecord("memory.vec", key, []byte{1, 2, 3}) })
	var log logged
	c, err := memory.Open(t.Context(), im, memory.Options{Logger: log.logger()})
	require.NoError(t, err)
	require.Contains(t, log.String(), "memory.vec/"+key)
	require.Contains(t, log.String(), "vector of 3 bytes", "the warning says what was wrong")
	require.Equal(t, []string{"cats"}, docIDs(search(t, c, animals[0].Text, 1, nil)))
	uvmtest.View(t, im, func(tx *uvm.Tx) error {
		b, err := tx.GetRecord("memory.vec", key)
		require.NoError(t, err)
		require.Len(t, b, 4*memory.DefaultDimensions, "the vector was embedded again")
		return nil
	})
}

// TestDamagedCatalogRecordOfAnotherEmbedder: when the damaged catalog
// record was another embedder's, Open records the one it was given,
// embeds the texts again with it, and deletes the other's vectors.
func TestDamagedCatalogRecordOfAnotherEmbedder(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{})
	old := openCatalog(t, im, memory.Options{Embedder: memory.OfflineEmbedder(128)})
	add(t, old, im, animals...)
	cp := damaged(t, im, record{"memory.meta", "catalog"})
	tags := func() map[string]bool {
		out := map[string]bool{}
		uvmtest.View(t, cp, func(tx *uvm.Tx) error {
			return tx.RecordKeys("memory.vec", "", func(k string) error {
				out[k[:bytes.IndexByte([]byte(k), '/')]] = true
				return nil
			})
		})
		return out
	}
	before := tags()
	require.Len(t, before, 1)

	var log logged
	c, err := memory.Open(t.Context(), cp, memory.Options{Logger: log.logger()})
	require.NoError(t, err)
	require.Contains(t, log.String(), "the catalog record was damaged")
	for _, d := range animals {
		require.Equal(t, []string{d.ID}, docIDs(search(t, c, d.Text, 1, nil)), "document %s is found by its own text", d.ID)
	}
	after := tags()
	require.Len(t, after, 1, "one embedder's vectors are left")
	for tag := range before {
		require.False(t, after[tag], "the other embedder's vectors are deleted")
	}
}
