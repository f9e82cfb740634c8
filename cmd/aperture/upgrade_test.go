package main

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"aperture/store"
)

// testdata/datadir-schema9.tar.gz is a data directory made by the release
// before partitions (schema 9, one file): a seeded community with an
// administrator, a private account with a pending request, a block, a
// suspended account, an open report, an invite-only instance with an
// unspent invitation, and an account deleted and purged. Its photos are
// small but real.

// untar extracts a .tar.gz into dir.
func untar(t *testing.T, file, dir string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(p, filepath.Clean(dir)) {
			t.Fatalf("%s leaves the directory", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o700); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			out, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(out, tr); err != nil {
				t.Fatal(err)
			}
			out.Close()
		}
	}
}

// A data directory of the release before partitions opens, migrates in
// place (its facts into the global file, both sides of every edge, public
// counts), passes aperture check, and answers as it did.
func TestOldDataDirectoryUpgrades(t *testing.T) {
	dir := t.TempDir()
	untar(t, filepath.Join("testdata", "datadir-schema9.tar.gz"), dir)
	out, err := exec.Command(binary, "check", "--data", dir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "every invariant holds") {
		t.Fatalf("check of the upgraded directory: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, store.GlobalFile)); err != nil {
		t.Fatalf("no global facts after the upgrade: %v", err)
	}
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.Partitions() != 1 {
		t.Fatalf("%d partitions, want the one it had", st.Partitions())
	}
	if v, _ := st.Schema(); v != store.SchemaVersion() {
		t.Fatalf("schema %d, want %d", v, store.SchemaVersion())
	}
	user := func(name string) *store.User {
		t.Helper()
		u, err := st.UserByUsername(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return u
	}
	maya, kenji, ines, boss, tomas := user("maya"), user("Kenji"), user("ines"), user("boss"), user("tomas")
	if !boss.Admin || !kenji.Private || !tomas.Suspended {
		t.Fatalf("accounts lost their standing: boss admin %v, kenji private %v, tomas suspended %v", boss.Admin, kenji.Private, tomas.Suspended)
	}
	if _, err := st.UserByUsername("lucas"); err == nil {
		if u, _ := st.UserByUsername("lucas"); !u.Deleted {
			t.Fatal("the deleted account came back")
		}
	}
	// The pending request is known on both sides.
	reqs, err := st.FollowRequests(kenji.ID, store.Page{})
	if err != nil || len(reqs.Users) != 1 || reqs.Users[0].ID != ines.ID {
		t.Fatalf("kenji's requests: %+v %v", reqs.Users, err)
	}
	if r, _ := st.Relationship(ines.ID, kenji.ID); !r.Requested {
		t.Fatal("ines does not know she asked to follow kenji")
	}
	// The global facts: the instance's settings and its invitation.
	settings, err := st.Settings()
	if err != nil || settings.Registration != store.RegistrationInvite {
		t.Fatalf("settings %+v %v", settings, err)
	}
	if codes, _ := st.Invites(); len(codes) != 1 {
		t.Fatalf("invitations %v", codes)
	}
	// The feed and the open report are as they were.
	feed, err := st.Feed(maya.ID, store.Page{})
	if err != nil || len(feed.Posts) == 0 {
		t.Fatalf("maya's feed: %d posts, %v", len(feed.Posts), err)
	}
	if open, _ := st.Reports(true, 10); len(open) != 1 {
		t.Fatalf("%d open reports", len(open))
	}
}
