// Package uvmtest opens images for tests: in memory for tests about logic,
// in a temporary directory for tests about what reaches the disk. Each
// image closes with its test (t.Cleanup), and a failure to open fails the
// test at once.
//
//	im := uvmtest.Mem(t, uvm.Options{})          // in memory
//	im := uvmtest.Disk(t, "", uvm.Options{})     // on disk, in t.TempDir()
//	im = uvmtest.Reopen(t, im, dir, opts)        // close and open again
//
// It also holds small helpers that almost every test of a package built
// on uvm repeats: [Update], [View] and [Fingerprint].
package uvmtest

import (
	"context"
	"testing"

	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/require"
)

// Mem opens an in-memory image with opts (InMemory is set for you) that
// closes when the test ends.
func Mem(t testing.TB, opts uvm.Options) *uvm.Image {
	t.Helper()
	opts.InMemory = true
	im, err := uvm.Open("", opts)
	require.NoError(t, err, "uvmtest: open an in-memory image")
	t.Cleanup(func() { _ = im.Close() })
	return im
}

// Disk opens the on-disk image in dir with opts, creating it if needed;
// an empty dir means a fresh t.TempDir(). The image closes when the test
// ends (a second Close by the test itself is harmless).
func Disk(t testing.TB, dir string, opts uvm.Options) *uvm.Image {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	opts.InMemory = false
	im, err := uvm.Open(dir, opts)
	require.NoError(t, err, "uvmtest: open the image in %s", dir)
	t.Cleanup(func() { _ = im.Close() })
	return im
}

// Reopen closes im and opens the image in dir again with opts, as a
// restarted host would.
func Reopen(t testing.TB, im *uvm.Image, dir string, opts uvm.Options) *uvm.Image {
	t.Helper()
	require.NoError(t, im.Close(), "uvmtest: close before reopening %s", dir)
	return Disk(t, dir, opts)
}

// Update runs fn in a read-write transaction and fails the test if it
// returns an error.
func Update(t testing.TB, im *uvm.Image, fn func(tx *uvm.Tx) error) {
	t.Helper()
	require.NoError(t, im.Update(context.Background(), fn))
}

// View runs fn in a read-only transaction and fails the test if it returns
// an error.
func View(t testing.TB, im *uvm.Image, fn func(tx *uvm.Tx) error) {
	t.Helper()
	require.NoError(t, im.View(context.Background(), fn))
}

// Fingerprint returns the image's fingerprint (see [uvm.Image.Fingerprint]);
// two images with equal fingerprints hold the same objects and slots.
func Fingerprint(t testing.TB, im *uvm.Image) string {
	t.Helper()
	fp, err := im.Fingerprint(context.Background())
	require.NoError(t, err)
	return fp
}
