package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestUnusableDataDir: a data directory that cannot be made is reported
// in one sentence that names it once, says why and what to do.
func TestUnusableDataDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "afile")
	os.WriteFile(file, nil, 0o600)
	data := filepath.Join(file, "data")
	for _, args := range [][]string{
		{"serve", "--addr", "127.0.0.1:0", "--data", data},
		{"backup", "--data", data, "--out", filepath.Join(t.TempDir(), "b.tar")},
	} {
		out, code := runBinary(t, nil, args...)
		want := "aperture: cannot use " + data + " as the data directory: " + file + " is a file, not a directory; choose another --data directory"
		if code != 1 || !strings.HasPrefix(out, want) || strings.Count(out, data) != 1 || strings.Count(out, "\n") != 1 {
			t.Errorf("%s: exit %d:\n%s", args[0], code, out)
		}
	}
	if os.Getuid() != 0 { // root may write anywhere
		ro := filepath.Join(t.TempDir(), "ro")
		os.Mkdir(ro, 0o500)
		out, code := runBinary(t, nil, "backup", "--data", ro, "--out", filepath.Join(t.TempDir(), "b.tar"))
		if code != 1 || !strings.Contains(out, "may not write to "+ro) || strings.Count(out, ro) != 2 {
			t.Errorf("read-only directory: exit %d:\n%s", code, out)
		}
	}
}

// TestExplainDataDir: store's wrapped file errors inside (or above) the
// data directory become one sentence; others are left alone.
func TestExplainDataDir(t *testing.T) {
	db := filepath.Join("/srv/photos", "aperture.db")
	raw := fmt.Errorf("store: open %s: %w", db, &fs.PathError{Op: "open", Path: db, Err: syscall.EACCES})
	err := explainDataDir("/srv/photos", raw)
	if got := err.Error(); got != "cannot use /srv/photos as the data directory: this user may not write to "+db+
		"; choose another --data directory or let this user write to it (chown or chmod)" || !errors.Is(err, fs.ErrPermission) {
		t.Errorf("permission: %v", err)
	}
	other := fmt.Errorf("read cert: %w", &fs.PathError{Op: "open", Path: "/etc/tls/cert.pem", Err: syscall.ENOENT})
	if err := explainDataDir("/srv/photos", other); err != other {
		t.Errorf("an error outside the data directory was reworded: %v", err)
	}
	if err := explainDataDir("/srv/photos", nil); err != nil {
		t.Errorf("nil: %v", err)
	}
}

// TestSecondProcessDoesNotWarm: a second server on a data directory in
// use fails on the lock without first reading (warming) the database.
func TestSecondProcessDoesNotWarm(t *testing.T) {
	dir := t.TempDir()
	start(t, dir).stop(t) // the database files exist from here on
	p := start(t, dir)
	began := time.Now()
	out, err := exec.Command(binary, "serve", "--addr", "127.0.0.1:0", "--data", dir, "--log-format", "json").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "in use by another aperture process") || strings.Contains(string(out), "warmed") ||
		time.Since(began) > 10*time.Second {
		t.Fatalf("second process: %v after %v\n%s", err, time.Since(began), out)
	}
	p.stop(t) // its log is complete (and no longer written) once it has exited
	if !strings.Contains(p.stderr.String(), "warmed the database") {
		t.Fatalf("the first process did not warm (the test would prove nothing):\n%s", p.stderr)
	}
}
