//go:build !unix

package watchdog

import "os/exec"

// setProcAttr leaves the child's attributes as they are.
func setProcAttr(*exec.Cmd) {}
