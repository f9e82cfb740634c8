package main

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"

	"aperture/store"
)

// dataDirError is a failure to use the data directory, said in one
// sentence: the directory, the reason and what to do. Unwrap returns the
// error it replaces.
type dataDirError struct {
	dir, reason, remedy string
	err                 error
}

func (e *dataDirError) Error() string {
	return fmt.Sprintf("cannot use %s as the data directory: %s; choose another --data directory or %s", e.dir, e.reason, e.remedy)
}

func (e *dataDirError) Unwrap() error { return e.err }

// explainDataDir returns err as a dataDirError when it is the failure of
// a file operation on dir, a path inside it or one of its parents; any
// other error comes back unchanged.
func explainDataDir(dir string, err error) error {
	var pe *fs.PathError
	var already *dataDirError
	if err == nil || errors.As(err, &already) || !errors.As(err, &pe) {
		return err
	}
	d, p := filepath.Clean(dir), filepath.Clean(pe.Path)
	if !within(p, d) && !within(d, p) {
		return err
	}
	reason, remedy := "", "fix its permissions"
	switch {
	case errors.Is(pe.Err, fs.ErrPermission):
		reason = fmt.Sprintf("this user may not write to %s", p)
		remedy = "let this user write to it (chown or chmod)"
	case errors.Is(pe.Err, syscall.EROFS):
		reason = fmt.Sprintf("%s is on a read-only file system", p)
		remedy = "mount it writable"
	case errors.Is(pe.Err, syscall.ENOTDIR):
		reason = fmt.Sprintf("%s is a file, not a directory", p)
		remedy = "move that file away"
	case errors.Is(pe.Err, syscall.ENOSPC):
		reason = "its disk is full"
		remedy = "free some space"
	default:
		reason = fmt.Sprintf("%s of %s failed (%v)", pe.Op, p, pe.Err)
	}
	return &dataDirError{dir: dir, reason: reason, remedy: remedy, err: err}
}

// within reports whether path p is dir or inside it.
func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, dir+string(filepath.Separator))
}

// openStore opens the data directory's store, explaining a directory
// that cannot be used (see explainDataDir).
func openStore(dir string, opt store.Options) (*store.Store, error) {
	st, err := store.Open(dir, opt)
	return st, explainDataDir(dir, err)
}
