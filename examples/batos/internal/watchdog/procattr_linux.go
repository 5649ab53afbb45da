//go:build linux

package watchdog

import (
	"os/exec"
	"syscall"
)

// setProcAttr starts the child in a process group of its own (a
// terminal's Ctrl-C reaches it once, forwarded) and has the kernel send
// it SIGTERM if the watchdog dies, so no kernel outlives its watchdog.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
