//go:build linux

package live

import (
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// isolationSupported reports whether workers can run on this platform.
const isolationSupported = true

// applyLimits sets a worker's resource limits: address space relative to
// what the process has at start (a Go process reserves much more virtual
// memory than it uses, so a flat limit would either starve it or mean
// nothing), a soft heap limit, few open files and no core dumps.
//
// RLIMIT_NPROC is not set: Linux counts threads against it, per user and
// across all that user's processes, so any useful value would starve the
// Go runtime of threads or depend on what else the user runs. A worker
// cannot start processes anyway: no symbol that could is exported to
// interpreted code.
func applyLimits(memory int64) error {
	vm, err := addressSpace()
	if err != nil {
		return err
	}
	as := uint64(vm + memory)
	if !raceEnabled {
		if err := syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: as, Max: as}); err != nil {
			return fmt.Errorf("RLIMIT_AS: %w", err)
		}
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: 64, Max: 64}); err != nil {
		return fmt.Errorf("RLIMIT_NOFILE: %w", err)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{}); err != nil {
		return fmt.Errorf("RLIMIT_CORE: %w", err)
	}
	debug.SetMemoryLimit(memory)
	return nil
}

// addressSpace reads the process's virtual size from /proc/self/statm.
func addressSpace() (int64, error) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, fmt.Errorf("unexpected /proc/self/statm %q", b)
	}
	pages, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return 0, err
	}
	return pages * int64(os.Getpagesize()), nil
}

// watchCPU makes the worker exit with a clear message when it passes its
// CPU-time limit (the Go runtime ignores SIGXCPU unless asked).
func watchCPU() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGXCPU)
	go func() {
		<-ch
		fmt.Fprintln(os.Stderr, "live worker: cpu time limit exceeded")
		os.Exit(3)
	}()
}

// setCPULimit allows the coming call d of CPU time (rounded up to whole
// seconds, plus one) on top of what the worker has used so far.
func setCPULimit(d time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return
	}
	used := ru.Utime.Sec + ru.Stime.Sec + 1
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_CPU, &old); err != nil {
		return
	}
	cur := uint64(used) + uint64((d+time.Second-1)/time.Second) + 1
	if cur > old.Max {
		cur = old.Max
	}
	_ = syscall.Setrlimit(syscall.RLIMIT_CPU, &syscall.Rlimit{Cur: cur, Max: old.Max})
}

// workerAttr makes a worker die with its parent.
func workerAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
