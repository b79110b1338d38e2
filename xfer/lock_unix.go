//go:build unix

package xfer

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive advisory lock on f for as long as it is
// open, or fails at once if another process holds one.
func lockFile(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != syscall.EINTR {
			return err
		}
	}
}
