//go:build !windows && !plan9 && !js && !wasip1 && !aix

package uvm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// holdShared takes a shared lock on the image directory, the lock Badger
// takes exclusively while the image is open (here or in another process),
// so that the image's files are read only while no one writes them.
// release drops it. A directory that does not exist needs no lock.
func holdShared(dir string) (release func(), err error) {
	f, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return func() {}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("uvm: open %s: %w", dir, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
		}
		return nil, fmt.Errorf("uvm: open %s: lock: %w", dir, err)
	}
	return func() { f.Close() }, nil // closing the descriptor releases the lock
}
