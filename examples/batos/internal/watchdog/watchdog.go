package watchdog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"syscall"
	"time"
)

var (
	// ErrTooManyRestarts is returned when the child crashed more than
	// Options.MaxRestarts times within Options.Window.
	ErrTooManyRestarts = errors.New("watchdog: too many restarts")
	// ErrUsage is returned when the child exited with status 2 (a usage
	// error): starting it again would fail the same way.
	ErrUsage = errors.New("watchdog: child refused its command line")
	// ErrStopFailed is returned when the child, told to stop, exited with
	// a non-zero status or had to be killed.
	ErrStopFailed = errors.New("watchdog: child did not stop cleanly")
)

// Options configure Run. The zero value of each field means its default.
type Options struct {
	// Command returns a new, unstarted command for each start of the
	// child. Required.
	Command func() *exec.Cmd
	// MaxRestarts bounds restarts within Window; one more crash ends Run
	// with ErrTooManyRestarts. Zero means 5.
	MaxRestarts int
	// Window is the span MaxRestarts counts over. Zero means a minute.
	Window time.Duration
	// MinBackoff is the wait before the first restart. Zero means 100ms.
	MinBackoff time.Duration
	// MaxBackoff caps the doubling backoff. Zero means 10s.
	MaxBackoff time.Duration
	// StableAfter is how long a child must run for its crash to restart it
	// after MinBackoff again. Zero means 30s.
	StableAfter time.Duration
	// StopTimeout is how long a child told to stop may take before it is
	// killed. Zero means a minute.
	StopTimeout time.Duration
	// OnStart, when set, is called with each child's pid once it started.
	OnStart func(pid int)
	// Logger receives a line per start, crash and stop. Nil discards.
	Logger *slog.Logger
}

func (o *Options) fill() {
	if o.MaxRestarts <= 0 {
		o.MaxRestarts = 5
	}
	if o.Window <= 0 {
		o.Window = time.Minute
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(10*time.Second, o.MinBackoff)
	}
	if o.StableAfter <= 0 {
		o.StableAfter = 30 * time.Second
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Run keeps the child running until a signal arrives on signals (it is
// forwarded to the child, and Run waits for the child to exit), ctx ends
// (the child is sent SIGTERM), or the child stops by itself with status
// 0. It returns nil then; an error wrapping ErrTooManyRestarts, ErrUsage
// or ErrStopFailed otherwise, or the error of a child that cannot start.
func Run(ctx context.Context, signals <-chan os.Signal, opts Options) error {
	opts.fill()
	if opts.Command == nil {
		return errors.New("watchdog: no command")
	}
	var crashes []time.Time
	backoff := opts.MinBackoff
	for incarnation := 1; ; incarnation++ {
		cmd := opts.Command()
		setProcAttr(cmd)
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("watchdog: start: %w", err)
		}
		started := time.Now()
		opts.Logger.Info("watchdog: child started", "pid", cmd.Process.Pid, "incarnation", incarnation)
		if opts.OnStart != nil {
			opts.OnStart(cmd.Process.Pid)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()

		var err error
		select {
		case sig := <-signals:
			return stop(cmd, sig, signals, exited, opts)
		case <-ctx.Done():
			return stop(cmd, syscall.SIGTERM, signals, exited, opts)
		case err = <-exited:
		}
		code := exitCode(err)
		ran := time.Since(started)
		switch code {
		case 0:
			opts.Logger.Info("watchdog: child stopped cleanly; stopping", "pid", cmd.Process.Pid)
			return nil
		case 2:
			return fmt.Errorf("%w (exit status 2)", ErrUsage)
		}
		now := time.Now()
		crashes = append(crashes, now)
		for len(crashes) > 0 && now.Sub(crashes[0]) > opts.Window {
			crashes = crashes[1:]
		}
		if len(crashes) > opts.MaxRestarts {
			return fmt.Errorf("%w: %d crashes within %s (last: %v)", ErrTooManyRestarts, len(crashes), opts.Window, err)
		}
		if ran >= opts.StableAfter {
			backoff = opts.MinBackoff
		}
		opts.Logger.Warn("watchdog: child died; restarting", "pid", cmd.Process.Pid, "status", err, "ran", ran.Round(time.Millisecond), "backoff", backoff)
		wait := time.NewTimer(backoff)
		select {
		case <-signals:
			wait.Stop()
			return nil
		case <-ctx.Done():
			wait.Stop()
			return nil
		case <-wait.C:
		}
		backoff = min(backoff*2, opts.MaxBackoff)
	}
}

// stop forwards sig (and any later signal) to the child and waits for it,
// killing it after StopTimeout.
func stop(cmd *exec.Cmd, sig os.Signal, signals <-chan os.Signal, exited <-chan error, opts Options) error {
	opts.Logger.Info("watchdog: stopping child", "pid", cmd.Process.Pid, "signal", sig.String())
	cmd.Process.Signal(sig)
	deadline := time.NewTimer(opts.StopTimeout)
	defer deadline.Stop()
	for {
		select {
		case s := <-signals:
			cmd.Process.Signal(s)
		case err := <-exited:
			if code := exitCode(err); code != 0 {
				return fmt.Errorf("%w: %v", ErrStopFailed, err)
			}
			opts.Logger.Info("watchdog: child stopped; stopping", "pid", cmd.Process.Pid)
			return nil
		case <-deadline.C:
			cmd.Process.Kill()
			err := <-exited
			return fmt.Errorf("%w: killed after %s (%v)", ErrStopFailed, opts.StopTimeout, err)
		}
	}
}

// exitCode is the child's exit status, or -1 when a signal ended it.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}
