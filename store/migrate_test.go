package store

import (
	"errors"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestMigrateV0ToV1 opens a database written before aperture kept a schema
// version (v0: no meta bucket) and checks that the v1 step runs once.
func TestMigrateV0ToV1(t *testing.T) {
	dir := t.TempDir()
	raw, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("legacy"))
		if err != nil {
			return err
		}
		return b.Put([]byte("k"), []byte("v"))
	}); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	runs := 0
	steps := []migration{{to: 1, name: "v1 counting", up: func(tx *bolt.Tx) error {
		runs++
		return migrations[0].up(tx)
	}}}
	for range 3 {
		s, err := Open(dir, Options{migrations: steps})
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := s.Schema(); v != 1 {
			t.Fatalf("schema %d", v)
		}
		if err := s.parts[0].db.View(func(tx *bolt.Tx) error {
			if tx.Bucket(bUsers) == nil {
				return errors.New("users bucket missing")
			}
			if string(tx.Bucket([]byte("legacy")).Get([]byte("k"))) != "v" {
				return errors.New("v0 data lost")
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	if runs != 1 {
		t.Fatalf("the v0→v1 step ran %d times", runs)
	}

	// A later step runs once on the v1 database, and never again.
	later := 0
	steps = append(steps, migration{to: SchemaVersion() + 1, name: "from the future", up: func(*bolt.Tx) error { later++; return nil }})
	for range 2 {
		s, err := Open(dir, Options{migrations: steps})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	if runs != 1 || later != 1 {
		t.Fatalf("runs %d, later %d", runs, later)
	}
	// This build's list stops before that step: the file is refused, not damaged.
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("opening a newer schema: %v", err)
	}
}

func TestFailedMigrationChangesNothing(t *testing.T) {
	dir := t.TempDir()
	steps := []migration{migrations[0], {to: 9, name: "broken", up: func(tx *bolt.Tx) error {
		tx.Bucket(bUsers).Put([]byte("x"), []byte("y"))
		return errors.New("boom")
	}}}
	if _, err := Open(dir, testOptions(Options{migrations: steps})); err == nil {
		t.Fatal("a failing migration opened the store")
	}
	s := openT(t, dir)
	if err := s.parts[0].db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bUsers).Get([]byte("x")) != nil {
			return errors.New("the failed step's write was kept")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
