package uvm_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/require"
)

const deferSyncEnvDir = "BATOS_UVM_DEFERSYNC_DIR" // set in the child: the image directory

// TestDeferSyncChild is the child half of TestDeferSyncSurvivesKill; it
// skips itself unless the parent started it. It commits with DeferSync,
// says so, and waits to be killed.
func TestDeferSyncChild(t *testing.T) {
	dir := os.Getenv(deferSyncEnvDir)
	if dir == "" {
		t.Skip("runs only as the child of TestDeferSyncSurvivesKill")
	}
	im, err := uvm.Open(dir, uvm.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: open:", err)
		os.Exit(3)
	}
	err = im.Update(context.Background(), func(tx *uvm.Tx) error {
		tx.DeferSync()
		return tx.PutRecord("notes", "progress", []byte("begun"))
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: commit:", err)
		os.Exit(3)
	}
	fmt.Println("committed")
	select {} // killed here, the image open and never synced
}

// A commit that returned under DeferSync survives the process being
// killed (SIGKILL, no Close): it is with the operating system, which a
// power failure alone could lose it from.
func TestDeferSyncSurvivesKill(t *testing.T) {
	if os.Getenv(deferSyncEnvDir) != "" {
		t.Skip("the child runs TestDeferSyncChild")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDeferSyncChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), deferSyncEnvDir+"="+dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err, "child said nothing: %s", stderr.String())
	require.Equal(t, "committed\n", line, stderr.String())
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()

	im, err := uvm.Open(dir, uvm.Options{})
	require.NoError(t, err)
	defer im.Close()
	require.NoError(t, im.View(context.Background(), func(tx *uvm.Tx) error {
		v, err := tx.GetRecord("notes", "progress")
		require.Equal(t, "begun", string(v))
		return err
	}))
}
