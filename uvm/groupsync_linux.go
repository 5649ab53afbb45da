package uvm

import (
	"os"

	"golang.org/x/sys/unix"
)

// datasync writes a file's data (and the metadata needed to read it) to
// disk, as msync does for a mapping of it.
func datasync(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }
