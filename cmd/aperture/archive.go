package main

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"aperture/media"
	"aperture/store"
)

// A backup is a tar stream: the database snapshot (aperture.db), the
// keys (keys/…), every photo file the snapshot references (media/…) and,
// last, MANIFEST.json with the size and SHA-256 of each of them. The
// search index is not in it: restore rebuilds it from the database.

const manifestName = "MANIFEST.json"

// manifest describes a backup.
type manifest struct {
	Format  int            `json:"format"`
	Version string         `json:"version"`
	Created time.Time      `json:"created"`
	Files   []manifestFile `json:"files"`
}

type manifestFile struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// backupStats is what a backup wrote.
type backupStats struct {
	Files, Photos int
	Bytes         int64
}

// hashingWriter counts and hashes what goes through it.
type hashingWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

// Write passes p on, counting and hashing what was written.
func (hw *hashingWriter) Write(p []byte) (int, error) {
	n, err := hw.w.Write(p)
	hw.h.Write(p[:n])
	hw.n += int64(n)
	return n, err
}

// writeBackup streams a consistent backup of the data directory dataDir,
// whose database st is open, to w.
func writeBackup(w io.Writer, st *store.Store, dataDir string, now time.Time) (backupStats, error) {
	tw := tar.NewWriter(w)
	man := manifest{Format: 1, Version: version, Created: now.UTC()}
	var stats backupStats
	add := func(name string, size int64, mode int64, mod time.Time, write func(io.Writer) (int64, error)) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Size: size, Mode: mode, ModTime: mod, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return err
		}
		hw := &hashingWriter{w: tw, h: sha256.New()}
		n, err := write(hw)
		if err != nil {
			return fmt.Errorf("backup: %s: %w", name, err)
		}
		if n != size {
			return fmt.Errorf("backup: %s: wrote %d bytes, expected %d", name, n, size)
		}
		man.Files = append(man.Files, manifestFile{Path: name, Size: size, SHA256: hex.EncodeToString(hw.h.Sum(nil))})
		stats.Files++
		stats.Bytes += size
		return nil
	}
	addFile := func(name, p string, mode int64) error {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		return add(name, fi.Size(), mode, fi.ModTime(), func(w io.Writer) (int64, error) { return io.Copy(w, f) })
	}
	blobs := media.FileBlobs{Dir: filepath.Join(dataDir, "media")}
	photos := map[string]bool{}
	err := st.Snapshot(func(file string, size int64, hashes []string, write func(io.Writer) (int64, error)) error {
		if err := add(file, size, 0o600, now, write); err != nil {
			return err
		}
		for _, h := range hashes {
			photos[h] = true
		}
		return nil
	})
	if err == nil {
		err = addRest(dataDir, photos, blobs, addFile, &stats)
	}
	if err != nil {
		return stats, err
	}
	body, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return stats, err
	}
	if err := tw.WriteHeader(&tar.Header{Name: manifestName, Size: int64(len(body)), Mode: 0o644, ModTime: now, Typeflag: tar.TypeReg}); err != nil {
		return stats, err
	}
	if _, err := tw.Write(body); err != nil {
		return stats, err
	}
	return stats, tw.Close()
}

// errCorrupt marks a backup that failed verification.
var errCorrupt = errors.New("the backup is damaged")

// extractBackup writes the backup read from r into dir (which must exist
// and be empty) and verifies every file against the manifest: sizes,
// SHA-256, nothing missing and nothing extra. With dir "" it only
// verifies, writing nothing. A file that fails is named in the error,
// which wraps errCorrupt.
func extractBackup(r io.Reader, dir string) (*manifest, backupStats, error) {
	tr := tar.NewReader(r)
	got := map[string]manifestFile{}
	var man *manifest
	var stats backupStats
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, stats, fmt.Errorf("%w: it cannot be read as an archive (%v)", errCorrupt, err)
		}
		name := hdr.Name
		if hdr.Typeflag != tar.TypeReg || !safeArchivePath(name) {
			return nil, stats, fmt.Errorf("%w: it holds an unexpected entry %q", errCorrupt, name)
		}
		if name == manifestName {
			if hdr.Size > 64<<20 {
				return nil, stats, fmt.Errorf("%w: its manifest is too large", errCorrupt)
			}
			man = new(manifest)
			if err := json.NewDecoder(tr).Decode(man); err != nil {
				return nil, stats, fmt.Errorf("%w: its manifest cannot be read (%v)", errCorrupt, err)
			}
			continue
		}
		hw := &hashingWriter{w: io.Discard, h: sha256.New()}
		if err := extractFile(dir, name, fs.FileMode(hdr.Mode), tr, hw); err != nil {
			return nil, stats, err
		}
		got[name] = manifestFile{Path: name, Size: hw.n, SHA256: hex.EncodeToString(hw.h.Sum(nil))}
		stats.Files++
		stats.Bytes += hw.n
	}
	if man == nil {
		return nil, stats, fmt.Errorf("%w: it has no %s (was it cut short?)", errCorrupt, manifestName)
	}
	if man.Format != 1 {
		return nil, stats, fmt.Errorf("backup format %d is newer than this aperture understands", man.Format)
	}
	listed := map[string]bool{}
	for _, f := range man.Files {
		listed[f.Path] = true
		g, ok := got[f.Path]
		switch {
		case !ok:
			return nil, stats, fmt.Errorf("%w: %s is missing", errCorrupt, f.Path)
		case g.Size != f.Size || g.SHA256 != f.SHA256:
			return nil, stats, fmt.Errorf("%w: %s fails its checksum (SHA-256 %s…, expected %s…)", errCorrupt, f.Path, g.SHA256[:12], f.SHA256[:12])
		}
		if strings.HasPrefix(f.Path, "media/") && strings.HasSuffix(f.Path, "/info.json") {
			stats.Photos++
		}
	}
	for name := range got {
		if !listed[name] {
			return nil, stats, fmt.Errorf("%w: %s is not in its manifest", errCorrupt, name)
		}
	}
	if !slices.ContainsFunc(man.Files, func(f manifestFile) bool { return f.Path == "aperture.db" }) {
		return nil, stats, fmt.Errorf("%w: it holds no database", errCorrupt)
	}
	return man, stats, nil
}

// safeArchivePath accepts the relative, clean, forward-slash paths a
// backup writes, and nothing that could climb out of the target.
func safeArchivePath(name string) bool {
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") || path.Clean(name) != name {
		return false
	}
	return !slices.Contains(strings.Split(name, "/"), "..")
}

// extractFile copies one entry through hw (which hashes it) into
// dir/name, or only through hw when dir is "".
func extractFile(dir, name string, mode fs.FileMode, r io.Reader, hw *hashingWriter) error {
	if dir == "" {
		if _, err := io.Copy(hw, r); err != nil {
			return fmt.Errorf("%w: %s cannot be read (%v)", errCorrupt, name, err)
		}
		return nil
	}
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode&0o644|0o600)
	if err != nil {
		return err
	}
	hw.w = f
	_, err = io.Copy(hw, r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%w: %s cannot be read (%v)", errCorrupt, name, err)
	}
	return nil
}

// addRest adds the signing keys and the files of every referenced photo
// (each once, however many partitions reference it).
func addRest(dataDir string, photos map[string]bool, blobs media.FileBlobs, addFile func(name, p string, mode int64) error, stats *backupStats) error {
	keys, err := os.ReadDir(filepath.Join(dataDir, "keys"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, k := range keys {
		if k.Type().IsRegular() {
			if err := addFile("keys/"+k.Name(), filepath.Join(dataDir, "keys", k.Name()), 0o600); err != nil {
				return err
			}
		}
	}
	hashes := make([]string, 0, len(photos))
	for h := range photos {
		hashes = append(hashes, h)
	}
	slices.Sort(hashes)
	for _, h := range hashes {
		names, err := blobs.Files(h)
		if err != nil {
			// Seeded benchmark records have no files; a missing blob is
			// reported by aperture check, not a reason to fail a backup.
			continue
		}
		stats.Photos++
		for _, n := range names {
			p, err := blobs.Path(h, n)
			if err != nil {
				return err
			}
			if err := addFile(path.Join("media", h[0:2], h[2:4], h, n), p, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}
