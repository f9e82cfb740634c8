package media

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// Blobs stores the files of processed photos, content-addressed by hash.
// FileBlobs keeps them on disk; an S3-compatible backend implements the
// same interface.
type Blobs interface {
	// Put stores data as variant of hash. Writing the same blob twice is
	// harmless.
	Put(hash, variant string, data []byte) error
	// Get returns a whole variant, or ErrNotFound.
	Get(hash, variant string) ([]byte, error)
	// Open returns a variant for serving (with Range support), or
	// ErrNotFound.
	Open(hash, variant string) (Blob, error)
	// Delete removes every variant of hash; deleting nothing is not an error.
	Delete(hash string) error
}

// Blob is an open stored file.
type Blob interface {
	io.ReadSeekCloser
	Size() int64
	ModTime() time.Time
}

// FileBlobs stores blobs under a directory as ab/cd/<sha256>/<variant>,
// each written to a temp file, fsynced and renamed into place.
type FileBlobs struct{ Dir string }

var validHash = regexp.MustCompile(`^[0-9a-f]{64}$`)
var validVariant = regexp.MustCompile(`^[a-z]{1,16}\.(jpg|json)$`)

func (b FileBlobs) path(hash, variant string) (string, error) {
	if !validHash.MatchString(hash) || (variant != "" && !validVariant.MatchString(variant)) {
		return "", newError(ErrNotFound, "", "There is no such photo file.")
	}
	return filepath.Join(b.Dir, hash[0:2], hash[2:4], hash, variant), nil
}

// Put writes the blob through a temp file, fsync and rename, then fsyncs
// the directory so the name survives a crash.
func (b FileBlobs) Put(hash, variant string, data []byte) error {
	p, err := b.path(hash, variant)
	if err != nil {
		return err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("media: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("media: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("media: write %s: %w", variant, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("media: sync %s: %w", variant, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("media: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("media: %w", err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("media: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Get reads a whole variant.
func (b FileBlobs) Get(hash, variant string) ([]byte, error) {
	p, err := b.path(hash, variant)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, newError(ErrNotFound, "", "There is no such photo file.")
	}
	return data, err
}

// Open opens a variant for reading.
func (b FileBlobs) Open(hash, variant string) (Blob, error) {
	p, err := b.path(hash, variant)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, newError(ErrNotFound, "", "There is no such photo file.")
	}
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &fileBlob{File: f, fi: fi}, nil
}

// Delete removes the hash's directory.
func (b FileBlobs) Delete(hash string) error {
	p, err := b.path(hash, "")
	if err != nil {
		return err
	}
	return os.RemoveAll(p)
}

type fileBlob struct {
	*os.File
	fi fs.FileInfo
}

// Size returns the file's size in bytes.
func (f *fileBlob) Size() int64 { return f.fi.Size() }

// ModTime returns when the file was written.
func (f *fileBlob) ModTime() time.Time { return f.fi.ModTime() }

// Files returns the names of a blob's stored files (its variants and
// info.json), or ErrNotFound when the blob has none.
func (b FileBlobs) Files(hash string) ([]string, error) {
	p, err := b.path(hash, "")
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(p)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(entries) == 0) {
		return nil, newError(ErrNotFound, "", "There is no such photo file.")
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && validVariant.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// Path returns where a blob's file lives on disk, or ErrNotFound for a
// malformed hash or name.
func (b FileBlobs) Path(hash, name string) (string, error) { return b.path(hash, name) }

// Each calls fn with every stored blob's hash and the time its directory
// last changed, in no particular order. It returns fn's first error.
func (b FileBlobs) Each(fn func(hash string, changed time.Time) error) error {
	err := filepath.WalkDir(b.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == b.Dir {
				return fs.SkipAll
			}
			return err
		}
		if !d.IsDir() || !validHash.MatchString(d.Name()) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if err := fn(d.Name(), info.ModTime()); err != nil {
			return err
		}
		return fs.SkipDir
	})
	return err
}
