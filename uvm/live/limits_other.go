//go:build !linux

package live

import (
	"errors"
	"syscall"
	"time"
)

// isolationSupported reports whether workers can run on this platform:
// the limits they depend on are implemented for Linux only.
const isolationSupported = false

func applyLimits(int64) error { return errors.New("worker limits are implemented for linux only") }

func watchCPU() {}

func setCPULimit(time.Duration) {}

func workerAttr() *syscall.SysProcAttr { return nil }
