package watchdog_test

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/batos-dev/batos/examples/batos/internal/watchdog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The test binary doubles as the watched child: $WATCHDOG_CHILD says how
// it behaves, $WATCHDOG_DIR where it leaves traces.
const (
	envChild = "WATCHDOG_CHILD"
	envDir   = "WATCHDOG_DIR"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(envChild); mode != "" {
		os.Exit(child(mode, os.Getenv(envDir)))
	}
	os.Exit(m.Run())
}

// child is a fake kernel.
func child(mode, dir string) int {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	switch mode {
	case "crash":
		return 1
	case "usage":
		return 2
	case "clean":
		return 0
	case "crash-once": // crashes on its first start, then serves
		marker := filepath.Join(dir, "crashed")
		if _, err := os.Stat(marker); err != nil {
			os.WriteFile(marker, nil, 0o600)
			return 1
		}
	case "stubborn": // ignores signals
		signal.Ignore(syscall.SIGTERM, syscall.SIGINT)
		os.WriteFile(filepath.Join(dir, "ready"), nil, 0o600)
		time.Sleep(time.Minute)
		return 0
	}
	os.WriteFile(filepath.Join(dir, "ready"), nil, 0o600)
	sig := <-sigs
	os.WriteFile(filepath.Join(dir, "signal"), []byte(sig.String()), 0o600)
	return 0
}

// run runs the watchdog over a child of the given mode and records each
// start.
type run struct {
	dir     string
	signals chan os.Signal
	mu      sync.Mutex
	starts  []time.Time
	done    chan error
}

func start(t *testing.T, mode string, opts watchdog.Options) *run {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	r := &run{dir: t.TempDir(), signals: make(chan os.Signal, 2), done: make(chan error, 1)}
	opts.Command = func() *exec.Cmd {
		c := exec.Command(exe)
		c.Env = append(os.Environ(), envChild+"="+mode, envDir+"="+r.dir)
		return c
	}
	opts.OnStart = func(int) {
		r.mu.Lock()
		r.starts = append(r.starts, time.Now())
		r.mu.Unlock()
	}
	go func() { r.done <- watchdog.Run(context.Background(), r.signals, opts) }()
	return r
}

func (r *run) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		return err
	case <-time.After(30 * time.Second):
		require.FailNow(t, "the watchdog did not stop")
		return nil
	}
}

func (r *run) startCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.starts)
}

func (r *run) waitReady(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool {
		_, err := os.Stat(filepath.Join(r.dir, "ready"))
		return err == nil
	}, 20*time.Second, 5*time.Millisecond)
}

// A child that keeps crashing is restarted MaxRestarts times, then the
// watchdog gives up.
func TestCrashesAreRestartedUpToTheLimit(t *testing.T) {
	r := start(t, "crash", watchdog.Options{MaxRestarts: 3, MinBackoff: time.Millisecond})
	err := r.wait(t)
	assert.ErrorIs(t, err, watchdog.ErrTooManyRestarts)
	assert.Equal(t, 4, r.startCount(), "the first start and 3 restarts")
}

// The backoff doubles between quick crashes, up to MaxBackoff.
func TestBackoffDoubles(t *testing.T) {
	r := start(t, "crash", watchdog.Options{MaxRestarts: 4, MinBackoff: 40 * time.Millisecond, MaxBackoff: 160 * time.Millisecond})
	require.ErrorIs(t, r.wait(t), watchdog.ErrTooManyRestarts)
	r.mu.Lock()
	defer r.mu.Unlock()
	require.Len(t, r.starts, 5)
	for i, want := range []time.Duration{40, 80, 160, 160} {
		gap := r.starts[i+1].Sub(r.starts[i])
		assert.GreaterOrEqual(t, gap, want*time.Millisecond, "gap %d: got %s, want ≥ %dms", i, gap, want)
	}
}

// A child that refuses its command line (exit 2) is not restarted; one
// that stops cleanly (exit 0) stops the watchdog.
func TestUsageAndCleanExitsAreNotRestarted(t *testing.T) {
	r := start(t, "usage", watchdog.Options{MinBackoff: time.Millisecond})
	assert.ErrorIs(t, r.wait(t), watchdog.ErrUsage)
	assert.Equal(t, 1, r.startCount())

	r = start(t, "clean", watchdog.Options{MinBackoff: time.Millisecond})
	assert.NoError(t, r.wait(t))
	assert.Equal(t, 1, r.startCount())
}

// A signal is forwarded to the child; once it exits, the watchdog stops.
// A restarted child is the one that gets it.
func TestSignalsAreForwarded(t *testing.T) {
	r := start(t, "crash-once", watchdog.Options{MinBackoff: time.Millisecond})
	r.waitReady(t)
	assert.Equal(t, 2, r.startCount(), "crashed once, restarted")
	r.signals <- syscall.SIGINT
	require.NoError(t, r.wait(t))
	got, err := os.ReadFile(filepath.Join(r.dir, "signal"))
	require.NoError(t, err)
	assert.Equal(t, syscall.SIGINT.String(), string(got))
}

// A child that ignores the signal is killed after StopTimeout.
func TestStubbornChildIsKilled(t *testing.T) {
	r := start(t, "stubborn", watchdog.Options{StopTimeout: 200 * time.Millisecond})
	r.waitReady(t)
	r.signals <- syscall.SIGTERM
	assert.ErrorIs(t, r.wait(t), watchdog.ErrStopFailed)
}

// A signal during the backoff stops the watchdog at once.
func TestSignalDuringBackoff(t *testing.T) {
	var log logBuffer
	r := start(t, "crash", watchdog.Options{MinBackoff: time.Hour, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	require.Eventually(t, func() bool { return strings.Contains(log.String(), "restarting") }, 20*time.Second, 5*time.Millisecond)
	r.signals <- syscall.SIGTERM
	assert.NoError(t, r.wait(t))
	assert.Equal(t, 1, r.startCount())
}

// logBuffer collects a logger's lines for a test to read.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Cancelling the context stops the child with SIGTERM.
func TestContextStopsTheChild(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- watchdog.Run(ctx, nil, watchdog.Options{Command: func() *exec.Cmd {
			c := exec.Command(exe)
			c.Env = append(os.Environ(), envChild+"=serve", envDir+"="+dir)
			return c
		}})
	}()
	require.Eventually(t, func() bool { _, err := os.Stat(filepath.Join(dir, "ready")); return err == nil }, 20*time.Second, 5*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	got, err := os.ReadFile(filepath.Join(dir, "signal"))
	require.NoError(t, err)
	assert.Equal(t, syscall.SIGTERM.String(), string(got))
}
