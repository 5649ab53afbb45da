package pgstore_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// openImage opens a uvm image on the database at url, closed with the test.
func openImage(t testing.TB, url string) *uvm.Image {
	im, err := uvm.Open(url, uvm.Options{})
	require.NoError(t, err, "uvm.Open of a postgres location")
	t.Cleanup(func() { im.Close() })
	return im
}

// TestImageRoundTrip: objects, methods, records and blobs written through
// uvm survive a reopen, and a backup restored into Badger is identical.
func TestImageRoundTrip(t *testing.T) {
	needPG(t)
	url := cluster.NewDatabase(t)
	im := openImage(t, url)
	ctx := context.Background()
	blob, err := im.PutBlob(ctx, bytes.NewReader(bytes.Repeat([]byte("blob"), 600_000))) // 2.4 MB: several chunks
	require.NoError(t, err)
	uvmtest.Update(t, im, func(tx *uvm.Tx) error {
		proto, err := tx.New()
		require.NoError(t, err)
		require.NoError(t, proto.Set("greeting", "hello"))
		_, err = tx.InstallMethod(proto, uvm.Method{Selector: "greet", Source: "func(self) string { return \"hi\" }"})
		require.NoError(t, err)
		child, err := tx.Clone(proto)
		require.NoError(t, err)
		require.NoError(t, child.SetParents(proto))
		require.NoError(t, child.Set("data", blob))
		require.NoError(t, tx.PutRecord("notes", "a", []byte("one")))
		require.NoError(t, tx.PutRecord("notes", "b", []byte("two")))
		return tx.SetRoot("genesis", child)
	})
	before := uvmtest.Fingerprint(t, im)
	require.NoError(t, im.Close())

	im = openImage(t, url)
	assert.Equal(t, before, uvmtest.Fingerprint(t, im), "the image is the same after a reopen")
	uvmtest.View(t, im, func(tx *uvm.Tx) error {
		g, err := tx.Root("genesis")
		require.NoError(t, err)
		v, err := tx.Send(ctx, g, "greeting")
		require.NoError(t, err)
		assert.Equal(t, "hello", v)
		proto, err := tx.Object(g.Parents()[0])
		require.NoError(t, err)
		vs, err := tx.MethodVersions(proto, "greet")
		require.NoError(t, err)
		assert.Len(t, vs, 1)
		var keys []string
		require.NoError(t, tx.ScanRecords("notes", "", func(k string, v []byte) error {
			keys = append(keys, k+"="+string(v))
			return nil
		}))
		assert.Equal(t, []string{"a=one", "b=two"}, keys)
		var out bytes.Buffer
		require.NoError(t, tx.ReadBlob(blob, &out))
		assert.Equal(t, 2_400_000, out.Len())
		return nil
	})

	var backup bytes.Buffer
	require.NoError(t, im.Backup(ctx, &backup))
	mem := uvmtest.Mem(t, uvm.Options{})
	require.NoError(t, mem.Restore(ctx, &backup))
	assert.Equal(t, before, uvmtest.Fingerprint(t, mem), "a backup of the PostgreSQL image restores into Badger byte for byte")
}

// TestTwoImagesOneDatabase: two images on one database (two kernels)
// increment one counter concurrently; every increment lands once, a
// serialization failure being retried like a Badger conflict, and an
// object created by one is read by the other.
func TestTwoImagesOneDatabase(t *testing.T) {
	needPG(t)
	url := cluster.NewDatabase(t)
	a, b := openImage(t, url), openImage(t, url)
	var counter uvm.OID
	uvmtest.Update(t, a, func(tx *uvm.Tx) error {
		o, err := tx.New()
		require.NoError(t, err)
		counter = o.OID()
		require.NoError(t, o.Set("n", int64(0)))
		return tx.SetRoot("counter", o)
	})
	ctx := context.Background()
	const each = 25
	var wg sync.WaitGroup
	errs := make(chan error, 2*each)
	for _, im := range []*uvm.Image{a, b} {
		wg.Go(func() {
			for range each {
				errs <- im.Update(ctx, func(tx *uvm.Tx) error {
					o, err := tx.Object(counter)
					if err != nil {
						return err
					}
					n, _ := o.Get("n")
					return o.Set("n", n.(int64)+1)
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	uvmtest.View(t, b, func(tx *uvm.Tx) error {
		o, err := tx.Root("counter")
		require.NoError(t, err)
		n, _ := o.Get("n")
		assert.Equal(t, int64(2*each), n, "every increment from both kernels landed once")
		return nil
	})
	// OIDs from the two images' sequences never collide.
	seen := map[uvm.OID]bool{}
	for range 300 {
		for _, im := range []*uvm.Image{a, b} {
			uvmtest.Update(t, im, func(tx *uvm.Tx) error {
				o, err := tx.New()
				require.NoError(t, err)
				require.False(t, seen[o.OID()], "oid %d handed out twice", o.OID())
				seen[o.OID()] = true
				return o.Set("x", true)
			})
		}
	}
}

func TestOpenBadURL(t *testing.T) {
	_, err := uvm.Open("postgres://nobody@/nodb?host=/nonexistent&connect_timeout=1", uvm.Options{})
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "uvm: open: pgstore"), err.Error())
}
