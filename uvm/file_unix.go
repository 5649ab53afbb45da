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

// mapFile maps a file into memory, read-only, for checking it without
// copying it; release unmaps it. The caller holds the directory's lock,
// so no one truncates the file meanwhile.
func mapFile(path string) (data []byte, release func(), err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if st.Size() == 0 || st.Size() != int64(int(st.Size())) {
		data, err := os.ReadFile(path)
		return data, func() {}, err
	}
	data, err = unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		data, err := os.ReadFile(path)
		return data, func() {}, err
	}
	return data, func() { _ = unix.Munmap(data) }, nil
}
