package uvm_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"testing"

	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/require"
)

func TestNoLostUpdate(t *testing.T) {
	forEachImage(t, func(t *testing.T, im *uvm.Image) {
		var oid uvm.OID
		require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
			o, _ := tx.New()
			oid = o.OID()
			return o.Set("n", 0)
		}))
		const workers, each = 8, 25
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					errs <- im.Update(ctx, func(tx *uvm.Tx) error {
						o, err := tx.Object(oid)
						if err != nil {
							return err
						}
						n, _ := o.Get("n")
						return o.Set("n", n.(int64)+1)
					})
				}
			}()
		}
		wg.Wait()
		close(errs)
		ok := 0
		for err := range errs {
			if err == nil {
				ok++
			} else {
				require.ErrorIs(t, err, uvm.ErrConflict, "only conflicts may fail")
			}
		}
		require.NoError(t, im.View(ctx, func(tx *uvm.Tx) error {
			o, _ := tx.Object(oid)
			n, _ := o.Get("n")
			require.Equal(t, int64(ok), n, "every acknowledged increment is counted, none twice")
			return nil
		}))
		require.Greater(t, ok, workers*each/2)
	})
}

func TestConflictRetriesAreBounded(t *testing.T) {
	im, err := uvm.Open("", uvm.Options{InMemory: true, MaxRetries: 2})
	require.NoError(t, err)
	defer im.Close()
	var oid uvm.OID
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
		o, _ := tx.New()
		oid = o.OID()
		return o.Set("n", 0)
	}))
	attempts := 0
	err = im.Update(ctx, func(tx *uvm.Tx) error {
		attempts++
		o, _ := tx.Object(oid)
		// A concurrent writer commits to the same object every time.
		require.NoError(t, im.Update(ctx, func(tx2 *uvm.Tx) error {
			o2, _ := tx2.Object(oid)
			return o2.Set("n", attempts)
		}))
		return o.Set("n", -1)
	})
	require.ErrorIs(t, err, uvm.ErrConflict)
	require.Equal(t, 3, attempts, "one try and two retries")
}

func TestCancelledContext(t *testing.T) {
	im := memImage(t)
	c, cancel := context.WithCancel(ctx)
	cancel()
	err := im.Update(c, func(tx *uvm.Tx) error { return nil })
	require.ErrorIs(t, err, context.Canceled)
	fp := backup(t, im)
	c2, cancel2 := context.WithCancel(ctx)
	err = im.Update(c2, func(tx *uvm.Tx) error {
		o, _ := tx.New()
		o.Set("x", 1)
		cancel2()
		return nil
	})
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, fp, backup(t, im), "a cancelled update commits nothing")
}

func TestPersistsAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	im, err := uvm.Open(dir, uvm.Options{})
	require.NoError(t, err)
	var oid uvm.OID
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
		o, _ := tx.New()
		oid = o.OID()
		o.Set("name", "genesis")
		o.Set("data", map[string]any{"k": []any{1.5, "s", nil}})
		if _, err := tx.InstallMethod(o, uvm.Method{Selector: "greet", Source: "package p", Persona: "ALFRED"}); err != nil {
			return err
		}
		if err := tx.PutRecord("memory", "doc/1", []byte("learned")); err != nil {
			return err
		}
		return tx.SetRoot("genesis", o)
	}))
	fp := backup(t, im)
	require.NoError(t, im.Close())

	im, err = uvm.Open(dir, uvm.Options{})
	require.NoError(t, err)
	defer im.Close()
	require.Equal(t, fp, backup(t, im))
	require.NoError(t, im.View(ctx, func(tx *uvm.Tx) error {
		g, err := tx.Root("genesis")
		require.NoError(t, err)
		require.Equal(t, oid, g.OID())
		d, _ := g.Get("data")
		require.Equal(t, map[string]any{"k": []any{1.5, "s", nil}}, d)
		m, _ := g.Get("greet")
		require.Equal(t, "ALFRED", m.(uvm.Method).Persona)
		rec, err := tx.GetRecord("memory", "doc/1")
		require.NoError(t, err)
		require.Equal(t, "learned", string(rec))
		return nil
	}))
}

func TestRecords(t *testing.T) {
	im := memImage(t)
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
		for _, k := range []string{"a/1", "a/2", "b/1"} {
			require.NoError(t, tx.PutRecord("ns", k, []byte(k)))
		}
		require.NoError(t, tx.PutRecord("other", "a/3", []byte("x")))
		return tx.DeleteRecord("ns", "a/2")
	}))
	require.NoError(t, im.View(ctx, func(tx *uvm.Tx) error {
		var got []string
		require.NoError(t, tx.ScanRecords("ns", "a/", func(k string, v []byte) error {
			got = append(got, k+"="+string(v))
			return nil
		}))
		require.Equal(t, []string{"a/1=a/1"}, got)
		_, err := tx.GetRecord("ns", "a/2")
		require.ErrorIs(t, err, uvm.ErrNotFound)
		_, err = tx.GetRecord("", "x")
		require.ErrorIs(t, err, uvm.ErrBadName)
		stop := errors.New("stop")
		require.ErrorIs(t, tx.ScanRecords("ns", "", func(string, []byte) error { return stop }), stop)
		return nil
	}))
}

func TestOnCommit(t *testing.T) {
	im := memImage(t)
	ran := 0
	require.Error(t, im.Update(ctx, func(tx *uvm.Tx) error {
		tx.OnCommit(func() { ran++ })
		return errors.New("discard")
	}))
	require.Equal(t, 0, ran)
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
		tx.OnCommit(func() { ran++ })
		return nil
	}))
	require.Equal(t, 1, ran)
}

func TestBackupRestore(t *testing.T) {
	src := memImage(t)
	var oid uvm.OID
	require.NoError(t, src.Update(ctx, func(tx *uvm.Tx) error {
		o, _ := tx.New()
		oid = o.OID()
		o.Set("k", "v")
		if _, err := tx.InstallMethod(o, uvm.Method{Selector: "m", Source: "package p"}); err != nil {
			return err
		}
		return tx.SetRoot("genesis", o)
	}))
	var buf bytes.Buffer
	require.NoError(t, src.Backup(ctx, &buf))

	dst, err := uvm.Open(t.TempDir(), uvm.Options{NoSync: true})
	require.NoError(t, err)
	defer dst.Close()
	require.NoError(t, dst.Restore(ctx, bytes.NewReader(buf.Bytes())))
	require.Equal(t, backup(t, src), backup(t, dst))
	require.NoError(t, dst.Update(ctx, func(tx *uvm.Tx) error {
		g, err := tx.Root("genesis")
		require.NoError(t, err)
		v, _ := g.Get("k")
		require.Equal(t, "v", v)
		n, err := tx.New()
		require.NoError(t, err)
		require.Greater(t, n.OID(), oid, "restored image never reuses an OID")
		return nil
	}))
	require.ErrorIs(t, dst.Restore(ctx, bytes.NewReader(buf.Bytes())), uvm.ErrNotEmpty)
}

func TestBlobs(t *testing.T) {
	dir := t.TempDir()
	im, err := uvm.Open(dir, uvm.Options{NoSync: true})
	require.NoError(t, err)
	data := make([]byte, 5*uvm.BlobChunkSize+123) // several transactions of chunks
	rand.Read(data)
	ref, err := im.PutBlob(ctx, bytes.NewReader(data))
	require.NoError(t, err)
	require.Equal(t, int64(len(data)), ref.Size)
	again, err := im.PutBlob(ctx, bytes.NewReader(data))
	require.NoError(t, err)
	require.Equal(t, ref, again, "content-addressed")
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
		o, _ := tx.New()
		o.Set("adapter", ref)
		return tx.SetRoot("holder", o)
	}))
	require.NoError(t, im.Close())

	im, err = uvm.Open(dir, uvm.Options{NoSync: true})
	require.NoError(t, err)
	defer im.Close()
	require.NoError(t, im.View(ctx, func(tx *uvm.Tx) error {
		o, _ := tx.Root("holder")
		r, _ := o.Get("adapter")
		var out bytes.Buffer
		require.NoError(t, tx.ReadBlob(r.(uvm.BlobRef), &out))
		require.True(t, bytes.Equal(data, out.Bytes()), "blob bytes identical after reopen")
		err := tx.ReadBlob(uvm.BlobRef{ID: "00"}, &out)
		require.ErrorIs(t, err, uvm.ErrNotFound)
		return nil
	}))
	empty, err := im.PutBlob(ctx, bytes.NewReader(nil))
	require.NoError(t, err)
	require.NoError(t, im.View(ctx, func(tx *uvm.Tx) error {
		var out bytes.Buffer
		require.NoError(t, tx.ReadBlob(empty, &out))
		require.Zero(t, out.Len())
		return nil
	}))
}

func TestRestoreRefusesDamagedBackup(t *testing.T) {
	src := memImage(t)
	require.NoError(t, src.Update(ctx, func(tx *uvm.Tx) error {
		o, _ := tx.New()
		return o.Set("k", "some value")
	}))
	var buf bytes.Buffer
	require.NoError(t, src.Backup(ctx, &buf))
	good := buf.Bytes()
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 1
	for name, b := range map[string][]byte{
		"truncated": good[:len(good)-7],
		"flipped":   flipped,
		"garbage":   []byte("not a backup at all"),
	} {
		t.Run(name, func(t *testing.T) {
			dst := memImage(t)
			before := backup(t, dst)
			require.ErrorIs(t, dst.Restore(ctx, bytes.NewReader(b)), uvm.ErrBadBackup)
			require.Equal(t, before, backup(t, dst), "nothing written")
		})
	}
}

func TestCheckCovenant(t *testing.T) {
	im := memImage(t)
	var oid uvm.OID
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
		o, _ := tx.New()
		oid = o.OID()
		return o.Set("m", map[string]any{})
	}))
	discard := errors.New("dry run")
	err := im.Update(ctx, func(tx *uvm.Tx) error {
		o, _ := tx.Object(oid)
		require.NoError(t, tx.CheckCovenant())
		m, _ := o.Get("m")
		m.(map[string]any)["k"] = "v"
		err := tx.CheckCovenant()
		require.ErrorIs(t, err, uvm.ErrCovenant)
		o.MarkChanged()
		require.NoError(t, tx.CheckCovenant())
		return discard
	})
	require.ErrorIs(t, err, discard)
}

func TestFingerprintExclude(t *testing.T) {
	im := memImage(t)
	all, err := im.Fingerprint(ctx)
	require.NoError(t, err)
	part, err := im.Fingerprint(ctx, "audit")
	require.NoError(t, err)
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error { return tx.PutRecord("audit", "1", []byte("x")) }))
	all2, _ := im.Fingerprint(ctx)
	part2, _ := im.Fingerprint(ctx, "audit")
	require.NotEqual(t, all, all2)
	require.Equal(t, part, part2)
}

func TestBlobsInMemory(t *testing.T) {
	im := memImage(t)
	data := make([]byte, 3*uvm.BlobChunkSize+7)
	rand.Read(data)
	ref, err := im.PutBlob(ctx, bytes.NewReader(data))
	require.NoError(t, err)
	require.NoError(t, im.View(ctx, func(tx *uvm.Tx) error {
		var out bytes.Buffer
		require.NoError(t, tx.ReadBlob(ref, &out))
		require.True(t, bytes.Equal(data, out.Bytes()))
		return nil
	}))
}
