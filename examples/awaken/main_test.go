package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/batos-dev/batos/uvm/live"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) {
	live.ServeIfWorker()
	os.Exit(m.Run())
}

func noEnv(string) string { return "" }

// The README's first command, run offline: the cycle walks every state,
// the guardian's rejection is corrected, and the reopened image answers
// without a cycle. An image named with -image is kept, and says so.
func TestAwakenOffline(t *testing.T) {
	var out bytes.Buffer
	dir := t.TempDir()
	err := run(context.Background(), []string{"-image", dir}, &out, noEnv)
	require.NoError(t, err, "output:\n%s", out.String())
	got := out.String()
	for _, want := range []string{
		"offline", "IDLE", "DECOMPOSING", "DELEGATING", "SYNTHESIZING", "VALIDATING", "COMPLETE",
		"rejected:", "greet_the_architect v1", "defer self.MarkChanged()",
		"greeting #1", "greeting #2", "0 cycle events",
		"for object 3 (genesis)", "on object 3 (genesis)",
		"the image stays in " + dir,
	} {
		assert.Contains(t, got, want)
	}
	assert.NotContains(t, got, "deleted")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.NotEmpty(t, entries, "the image is kept")

	// No state line is empty: each names its state and says something.
	stateLine := regexp.MustCompile(`^\[\d\d:\d\d:\d\d\.\d{3}\] [A-Z_]+\s*$`)
	for _, line := range strings.Split(got, "\n") {
		assert.False(t, stateLine.MatchString(line), "an empty state line: %q", line)
		assert.Equal(t, strings.TrimRight(line, " "), line, "trailing spaces: %q", line)
	}
}

// Without -image, awaken works in a temporary image and says when it
// deletes it.
func TestAwakenDeletesItsTemporaryImage(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), nil, &out, noEnv)
	require.NoError(t, err, "output:\n%s", out.String())
	m := regexp.MustCompile(`deleted the temporary image (\S+)`).FindStringSubmatch(out.String())
	require.NotNil(t, m, "output:\n%s", out.String())
	require.Contains(t, out.String(), "image: "+m[1]+" (temporary")
	_, err = os.Stat(m[1])
	require.ErrorIs(t, err, os.ErrNotExist)
}
