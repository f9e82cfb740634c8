// Package transfer moves accounts in and out of aperture: it reads the
// archives that Instagram's "Download your information" produces (and
// aperture's own exports), imports them post by post through the media
// pipeline, and writes an account's export. Archives are read in place,
// never extracted: an entry is read into memory only up to a bound, so a
// hostile ZIP can neither fill the disk nor the memory, nor write outside
// the import's own file.
package transfer

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"aperture/store"
)

// Limits on what an archive may hold, checked against its directory
// before any entry is read, and again while reading (a directory can lie).
const (
	MaxEntries    = 200_000   // files in one archive
	MaxJSON       = 64 << 20  // bytes of one JSON file, uncompressed
	MaxPhoto      = 100 << 20 // bytes of one photo, uncompressed
	MaxTotal      = 64 << 30  // bytes of the whole archive, uncompressed
	MaxRatio      = 200       // uncompressed ÷ compressed, for entries over 1 MiB
	ratioExemptAt = 1 << 20
)

// Archive is an opened ZIP whose entries are found by their path inside
// it, with any one folder that wraps the whole archive removed.
type Archive struct {
	zr      *zip.Reader
	closer  io.Closer
	entries map[string]*zip.File
	names   []string
}

// ErrArchive marks every refusal of an archive's form; its message says
// what was wrong in a sentence. errors.Is(err, store.ErrInvalid) holds too.
var ErrArchive = errors.New("archive")

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: %w", ErrArchive, store.Invalid("file", format, args...))
}

// Open opens the ZIP at file and checks its directory: a truncated or
// non-ZIP file, an entry whose path leaves the archive (.. or absolute),
// too many entries, or sizes and compression ratios over the limits are
// refused with an ErrArchive error.
func Open(file string) (*Archive, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	a, err := Read(f, st.Size())
	if err != nil {
		f.Close()
		return nil, err
	}
	a.closer = f
	return a, nil
}

// Read is Open for an archive of size bytes read from r.
func Read(r io.ReaderAt, size int64) (*Archive, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, refuse("The file is not a complete ZIP archive (%s); download it again and upload the whole file.", zipProblem(err))
	}
	a := &Archive{zr: zr, entries: map[string]*zip.File{}}
	if err := a.index(); err != nil {
		return nil, err
	}
	return a, nil
}

func zipProblem(err error) string {
	switch {
	case errors.Is(err, zip.ErrFormat):
		return "it ends too early or is not a ZIP"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "it ends too early"
	}
	return "it could not be read"
}

func (a *Archive) index() error {
	if len(a.zr.File) > MaxEntries {
		return refuse("The archive holds %d files; aperture reads archives of up to %d.", len(a.zr.File), MaxEntries)
	}
	var total uint64
	for _, f := range a.zr.File {
		name := f.Name
		if !safeName(name) {
			return refuse("The archive holds a file named %q, which points outside it; it was refused whole.", name)
		}
		if f.FileInfo().IsDir() {
			continue
		}
		total += f.UncompressedSize64
		if total > MaxTotal {
			return refuse("The archive unpacks to more than %d GiB; aperture reads archives of up to that.", MaxTotal>>30)
		}
		if f.UncompressedSize64 > ratioExemptAt && f.UncompressedSize64 > MaxRatio*max(f.CompressedSize64, 1) {
			return refuse("The file %q in the archive unpacks to %d times its size, as a ZIP bomb does; the archive was refused.", name, f.UncompressedSize64/max(f.CompressedSize64, 1))
		}
		a.entries[name] = f
		a.names = append(a.names, name)
	}
	// One folder around everything (an archive zipped again) is looked through.
	if root, ok := a.wrapper(); ok {
		unwrapped := make(map[string]*zip.File, len(a.entries))
		for i, n := range a.names {
			a.names[i] = strings.TrimPrefix(n, root)
			unwrapped[a.names[i]] = a.entries[n]
		}
		a.entries = unwrapped
	}
	return nil
}

// safeName reports whether an entry's path stays inside the archive.
func safeName(name string) bool {
	if name == "" || strings.ContainsAny(name, "\\\x00") || strings.HasPrefix(name, "/") || (len(name) > 1 && name[1] == ':') {
		return false
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return false
		}
	}
	return path.Clean("/"+name) != "/"
}

// wrapper returns the one top folder that holds every entry, if there is
// one and it is not one of the layouts' own folders.
func (a *Archive) wrapper() (string, bool) {
	root := ""
	for _, n := range a.names {
		top, _, found := strings.Cut(n, "/")
		if !found || (root != "" && top != root) {
			return "", false
		}
		root = top
	}
	switch root {
	case "", "content", "your_instagram_activity", "media", "photos", "personal_information", "connections":
		return "", false
	}
	return root + "/", true
}

// Has reports whether the archive holds a file at name.
func (a *Archive) Has(name string) bool { _, ok := a.entries[name]; return ok }

// Names returns the paths of the archive's files.
func (a *Archive) Names() []string { return a.names }

// Read returns the file at name, refusing one over limit bytes (however
// its size is declared). It returns a store.ErrNotFound error when there
// is no such file.
func (a *Archive) Read(name string, limit int64) ([]byte, error) {
	f, ok := a.entries[name]
	if !ok {
		return nil, fmt.Errorf("%w: %w", ErrArchive, store.Errorf(store.ErrNotFound, "The archive has no file %q.", name))
	}
	if f.UncompressedSize64 > uint64(limit) {
		return nil, refuse("The file %q in the archive is %d MiB; aperture reads files of up to %d MiB.", name, f.UncompressedSize64>>20, limit>>20)
	}
	r, err := f.Open()
	if err != nil {
		return nil, refuse("The file %q in the archive could not be read (%v).", name, err)
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	switch {
	case err != nil:
		return nil, refuse("The file %q in the archive is damaged (%s); download the archive again.", name, zipProblem(err))
	case int64(len(b)) > limit || uint64(len(b)) != f.UncompressedSize64:
		return nil, refuse("The file %q in the archive is not the size its directory says; the archive was refused.", name)
	}
	return b, nil
}

// Close closes the archive's file.
func (a *Archive) Close() error {
	if a.closer == nil {
		return nil
	}
	return a.closer.Close()
}
