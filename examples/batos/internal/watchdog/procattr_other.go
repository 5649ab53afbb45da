//go:build unix && !linux

package watchdog

import (
	"os/exec"
	"syscall"
)

// setProcAttr starts the child in a process group of its own, so that a
// terminal's Ctrl-C reaches it once, forwarded by the watchdog.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
