package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// forbiddenAdd is a method the guardian refuses (it imports os), which
// only the unaudited uvm.Tx.InstallMethod installs.
const forbiddenAdd = `package arith

import (
	"os"

	"batos"
)

func add(self batos.Self, args []any) (any, error) {
	return int64(os.Getpid()), nil
}
`

// revert installs an old version's source as a new version, validated;
// source that fails validation is not installed.
func TestRevert(t *testing.T) {
	dir, c := newImage(t)
	im, err := uvm.Open(dir, uvm.Options{})
	require.NoError(t, err)
	require.NoError(t, im.Update(context.Background(), func(tx *uvm.Tx) error {
		g, err := tx.Root(psm.RootGenesis)
		if err != nil {
			return err
		}
		_, err = tx.InstallMethod(g, uvm.Method{Selector: "add", Source: forbiddenAdd})
		return err
	}))
	require.NoError(t, im.Close())

	r := c.run("revert", "genesis", "add", "v1", "--by", "ada", "--why", "v2 was installed unaudited")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "installed add v3 on object 3 (by ada, restores v1)\n", r.stdout)
	r = c.run("send", "genesis", "add", "2", "40")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "42\n", r.stdout)

	r = c.run("revert", "--json", "genesis", "add", "1")
	require.Equal(t, exitOK, r.code, r.stderr)
	var v versionView
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &v))
	assert.Equal(t, 4, v.Version)
	assert.Equal(t, 1, v.Restores)
	assert.Equal(t, "revert to v1", v.Why)
	assert.True(t, v.Current)

	before := fingerprint(t, dir)
	r = c.run("revert", "--json", "genesis", "add", "2")
	assert.Equal(t, exitFailed, r.code)
	assert.Contains(t, r.stderr, `"add" for object 3 failed the audit`)
	assert.Contains(t, r.stderr, `"os"`)
	var body map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &body))
	assert.Equal(t, kindInvalidSource, body["kind"])
	assert.Equal(t, before, fingerprint(t, dir), "a refused revert changed the image")

	for _, tc := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"no such version", []string{"revert", "genesis", "add", "9"}, exitFailed, "no such method version"},
		{"no such object", []string{"revert", "nobody", "add", "1"}, exitFailed, `no root named "nobody"`},
		{"no version", []string{"revert", "genesis", "add"}, exitUsage, "accepts 3 arg(s)"},
		{"bad version", []string{"revert", "genesis", "add", "latest"}, exitUsage, `version "latest"`},
		{"bad selector", []string{"revert", "genesis", "a\x01b", "1"}, exitUsage, "selector"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.run(tc.args...)
			assert.Equal(t, tc.code, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			assert.Contains(t, r.stderr, tc.says)
		})
	}
	assert.Equal(t, before, fingerprint(t, dir))
}
