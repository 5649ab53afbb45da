package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// largestTable returns the image's largest table file.
func largestTable(t *testing.T, dir string) string {
	t.Helper()
	tables, err := filepath.Glob(filepath.Join(dir, "*.sst"))
	require.NoError(t, err)
	require.NotEmpty(t, tables)
	var best string
	var size int64 = -1
	for _, p := range tables {
		st, err := os.Stat(p)
		require.NoError(t, err)
		if st.Size() > size {
			best, size = p, st.Size()
		}
	}
	return best
}

// flip inverts the byte at off in the file at path.
func flip(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	b := make([]byte, 1)
	_, err = f.ReadAt(b, off)
	require.NoError(t, err)
	b[0] ^= 0xff
	_, err = f.WriteAt(b, off)
	require.NoError(t, err)
}

// salvage copies what is readable in a damaged image into a new one and
// reports what was lost; the new image opens and answers.
func TestSalvage(t *testing.T) {
	dir, c := newImage(t)
	base := t.TempDir()

	r := c.run("salvage", dir, filepath.Join(base, "intact"))
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Regexp(t, `^salvaged .* into .*intact: nothing was damaged or lost\ncopied \d+ objects, 2 method versions, \d+ records, 0 blobs, \d+ roots\n$`, r.stdout)

	sst := largestTable(t, dir)
	st, err := os.Stat(sst)
	require.NoError(t, err)
	flip(t, sst, st.Size()*4/10)
	r = c.run("history", "genesis", "add")
	assert.Equal(t, exitFailed, r.code)
	assert.Contains(t, r.stderr, "corrupt image")
	assert.Contains(t, r.stderr, "batos salvage "+dir+" NEW-DIR")

	to := filepath.Join(base, "salvaged")
	r = c.run("salvage", dir, to)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Regexp(t, `^salvaged .* into .*salvaged: 1 damaged place\(s\), [1-9]\d* lost`, r.stdout)
	assert.Contains(t, r.stdout, "\ndamaged: "+sst+" at byte ")
	assert.Contains(t, r.stdout, "\nlost: ")
	r = c.run("--image", to, "inspect")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "genesis")

	r = c.run("salvage", "--json", dir, filepath.Join(base, "again"))
	require.Equal(t, exitOK, r.code, r.stderr)
	var v salvageView
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &v))
	assert.False(t, v.Complete)
	require.Len(t, v.Damaged, 1)
	assert.Equal(t, sst, v.Damaged[0].File)
	assert.Contains(t, v.Damaged[0].Reason, "fails its checksum")
	require.NotEmpty(t, v.Lost)
	assert.NotEmpty(t, v.Lost[0].Text)
	assert.Positive(t, v.Objects)

	im, err := uvm.Open(to, uvm.Options{})
	require.NoError(t, err)
	r = c.run("salvage", to, filepath.Join(base, "held"))
	assert.Equal(t, exitFailed, r.code)
	assert.Contains(t, r.stderr, "stop it, then run batos salvage again")
	require.NoError(t, im.Close())

	for _, tc := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"into a full image", []string{"salvage", dir, filepath.Join(base, "intact")}, exitFailed, "not empty"},
		{"into itself", []string{"salvage", dir, dir}, exitFailed, "into itself"},
		{"from nowhere", []string{"salvage", filepath.Join(base, "none"), filepath.Join(base, "x")}, exitFailed, "no such file"},
		{"one directory", []string{"salvage", dir}, exitUsage, "accepts 2 arg(s)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.run(tc.args...)
			assert.Equal(t, tc.code, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			assert.Contains(t, r.stderr, tc.says)
		})
	}
}
