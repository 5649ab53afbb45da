//go:build !linux

package uvm

import "os"

// datasync writes a file's data to disk.
func datasync(f *os.File) error { return f.Sync() }
