//go:build windows || plan9 || js || wasip1 || aix

package uvm

import "os"

// holdShared is a no-op where Badger locks the directory another way: the
// files are read unlocked, and Badger's own lock still refuses a second
// open.
func holdShared(dir string) (release func(), err error) { return func() {}, nil }

// mapFile reads a file whole where memory mapping is not used.
func mapFile(path string) (data []byte, release func(), err error) {
	data, err = os.ReadFile(path)
	return data, func() {}, err
}
