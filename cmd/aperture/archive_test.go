package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExtractRefusesHostileArchives: entries that climb out of the
// target, links, and archives without a manifest are refused.
func TestExtractRefusesHostileArchives(t *testing.T) {
	for name, entry := range map[string]*tar.Header{
		"climbs":      {Name: "../evil", Typeflag: tar.TypeReg, Size: 1},
		"absolute":    {Name: "/etc/evil", Typeflag: tar.TypeReg, Size: 1},
		"link":        {Name: "keys/x", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"},
		"no manifest": {Name: "aperture.db", Typeflag: tar.TypeReg, Size: 1},
	} {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		tw.WriteHeader(entry)
		if entry.Size > 0 {
			tw.Write([]byte("x"))
		}
		tw.Close()
		dir := t.TempDir()
		_, _, err := extractBackup(&buf, dir)
		if !errors.Is(err, errCorrupt) {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "evil")); err == nil {
			t.Fatalf("%s: wrote outside the target", name)
		}
	}
}

func TestPruneBackups(t *testing.T) {
	dir := t.TempDir()
	names := []string{"aperture-20261101T000000Z.tar", "aperture-20261102T000000Z.tar", "aperture-20261103T000000Z.tar", "other.txt"}
	for _, n := range names {
		os.WriteFile(filepath.Join(dir, n), nil, 0o600)
	}
	if err := pruneBackups(dir, 2); err != nil {
		t.Fatal(err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(left) != 3 || strings.Contains(strings.Join(left, " "), "1101") {
		t.Fatalf("left %v", left)
	}
}
