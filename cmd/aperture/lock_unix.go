//go:build unix

package main

import (
	"errors"
	"os"
	"syscall"
)

// lockedByAnother reports whether another process holds the database
// file at path: bbolt locks it with flock while open, and a second
// process's Open then waits for the lock and fails. Run asks first so
// that it does not warm a file it cannot open.
func lockedByAnother(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if err != nil {
		return errors.Is(err, syscall.EWOULDBLOCK)
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}
