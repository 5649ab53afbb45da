package main

import (
	"path/filepath"
	"testing"

	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The commands of psm's host door open the image themselves: an image
// another process holds is refused, and a missing one is not created.
func TestHostDoorOpensTheImage(t *testing.T) {
	dir, c := newImage(t)
	out := t.TempDir()
	commands := [][]string{
		{"history", "genesis", "add"},
		{"diff", "genesis", "add", "1", "1"},
		{"revert", "genesis", "add", "1"},
		{"export", "genesis", out},
		{"import", "genesis", out},
		{"pending"},
		{"approve", "c0-0"},
		{"reject", "c0-0", "--reason", "no"},
		{"edit", "c0-0", "-"},
		{"policy"},
	}
	im, err := uvm.Open(dir, uvm.Options{})
	require.NoError(t, err)
	for _, args := range commands {
		t.Run("held "+args[0], func(t *testing.T) {
			r := c.run(args...)
			assert.Equal(t, exitFailed, r.code)
			assert.Contains(t, r.stderr, "is open in another process (a running kernel?): stop it, then run batos "+args[0]+" again")
		})
	}
	require.NoError(t, im.Close())

	missing := filepath.Join(t.TempDir(), "none")
	for _, args := range commands {
		t.Run("missing "+args[0], func(t *testing.T) {
			r := c.run(append([]string{"--image", missing}, args...)...)
			assert.Equal(t, exitFailed, r.code)
			assert.Contains(t, r.stderr, "no image at "+missing)
			assert.NoDirExists(t, missing)
		})
	}
}
