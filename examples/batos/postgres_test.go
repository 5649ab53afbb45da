package main

import (
	"errors"
	"testing"

	"github.com/batos-dev/batos/uvm/store/pgstore/pgtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCommandsOnPostgres: every command takes a postgres:// image as it
// takes a directory: send writes the method, and the commands that open
// the image themselves (history, diff, export, inspect) read it.
func TestCommandsOnPostgres(t *testing.T) {
	c, err := pgtest.Start()
	if errors.Is(err, pgtest.ErrNoServer) {
		t.Skip(pgtest.Hint)
	}
	require.NoError(t, err)
	t.Cleanup(func() { c.Stop() })
	url := c.NewDatabase(t)
	cli := newCLI(map[string]string{envImage: url})

	r := cli.run("send", "genesis", "greet_the_architect", "Ada")
	require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	assert.Contains(t, r.stdout, "Hello, Ada")

	r = cli.run("history", "genesis", "greet_the_architect")
	require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	assert.Contains(t, r.stdout, "v1")

	r = cli.run("diff", "genesis", "greet_the_architect", "1")
	require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)

	r = cli.run("export", "genesis", t.TempDir())
	require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)

	r = cli.run("inspect", "genesis")
	require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	assert.Contains(t, r.stdout, "greet_the_architect")
}
