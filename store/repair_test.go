package store

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestRepairCountsAndStrays: counters broken behind the commands' back
// are found by Check and set right by RepairCounts; a stray inbox entry
// is found and removed.
func TestRepairCountsAndStrays(t *testing.T) {
	s := openT(t, t.TempDir())
	ctx := context.Background()
	now := time.Now()
	ana, _ := Exec(ctx, s, CreateUser{Meta: At(now), Username: "ana", PasswordHash: "h"})
	ben, _ := Exec(ctx, s, CreateUser{Meta: At(now), Username: "ben", PasswordHash: "h"})
	cy, _ := Exec(ctx, s, CreateUser{Meta: At(now), Username: "cy", PasswordHash: "h"})
	if _, err := Exec(ctx, s, Follow{Meta: At(now), FollowerID: ben.ID, TargetID: ana.ID}); err != nil {
		t.Fatal(err)
	}
	Settle(t, s)
	m, _ := Exec(ctx, s, CreateMedia{Meta: At(now), OwnerID: ana.ID, Hash: fmt.Sprintf("%064x", 1), Width: 10, Height: 10})
	p, err := Exec(ctx, s, CreatePost{Meta: At(now), AuthorID: ana.ID, Caption: "#sea", MediaIDs: []ID{m.ID}})
	if err != nil {
		t.Fatal(err)
	}
	Exec(ctx, s, Like{Meta: At(now), UserID: ben.ID, PostID: p.ID})
	if bad, _ := s.Check(); len(bad) != 0 {
		t.Fatalf("a healthy store: %v", bad)
	}
	// Break counters and add a stray entry directly in the file.
	err = poke(s, ana.ID, now, func(tx *Tx) error {
		u, _ := tx.user(ana.ID)
		u.Counts.Followers, u.Counts.Posts = 7, 0
		if err := tx.put(bUsers, ana.ID.key(), u); err != nil {
			return err
		}
		p2, _ := tx.post(p.ID)
		p2.LikeCount = 3
		if err := tx.put(bPosts, p.ID.key(), p2); err != nil {
			return err
		}
		_, err := tx.addCounter(bTagCounts, []byte("sea"), 4)
		return err
	})
	if err == nil {
		err = poke(s, cy.ID, now, func(tx *Tx) error { return tx.inboxAdd(cy.ID, p.ID, ana.ID) }) // cy does not follow ana
	}
	if err != nil {
		t.Fatal(err)
	}
	uk, _ := keyOf(bUsers, ana.ID.key())
	pk, _ := keyOf(bPosts, p.ID.key())
	s.cache.invalidate([]cacheKey{uk, pk})
	bad, _ := s.Check()
	if len(bad) != 4 {
		t.Fatalf("check found %d problems: %v", len(bad), bad)
	}
	var fixed []string
	for part := range s.Partitions() {
		f, err := Exec(ctx, s, RepairCounts{Meta: At(now), On: PartitionShard(part)})
		if err != nil {
			t.Fatal(err)
		}
		fixed = append(fixed, f...)
	}
	if len(fixed) != 3 {
		t.Fatalf("repair: %v", fixed)
	}
	strays, err := s.StrayInboxEntries(100)
	if err != nil || len(strays) != 1 || strays[0] != [2]ID{cy.ID, p.ID} {
		t.Fatalf("strays %v %v", strays, err)
	}
	if _, err := Exec(ctx, s, RemoveInboxEntries{Meta: At(now), Entries: strays}); err != nil {
		t.Fatal(err)
	}
	if bad, _ := s.Check(); len(bad) != 0 {
		t.Fatalf("after repair: %v", bad)
	}
	if u, _ := s.User(ana.ID); u.Counts.Followers != 1 || u.Counts.Posts != 1 {
		t.Fatalf("counts %+v", u.Counts)
	}
	if bad, err := s.CheckFile(); err != nil || len(bad) != 0 {
		t.Fatalf("structural check: %v %v", bad, err)
	}
}

// TestSnapshot: the copy opens as a store with the same data, and names
// the photos it references.
func TestSnapshot(t *testing.T) {
	s := openT(t, t.TempDir())
	ctx := context.Background()
	ana, _ := Exec(ctx, s, CreateUser{Meta: At(time.Now()), Username: "ana", PasswordHash: "h"})
	for i := range 3 {
		m, _ := Exec(ctx, s, CreateMedia{Meta: At(time.Now()), OwnerID: ana.ID, Hash: fmt.Sprintf("%064x", i%2), Width: 10, Height: 10})
		Exec(ctx, s, CreatePost{Meta: At(time.Now()), AuthorID: ana.ID, MediaIDs: []ID{m.ID}})
	}
	var buf bytes.Buffer
	var hashes []string
	dir := t.TempDir()
	err := s.Snapshot(func(file string, size int64, blobs []string, write func(w io.Writer) (int64, error)) error {
		hashes = append(hashes, blobs...)
		buf.Reset()
		n, err := write(&buf)
		if n != size {
			t.Fatalf("wrote %d of %d", n, size)
		}
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, file), buf.Bytes(), 0o600)
	})
	if err != nil || len(hashes) != 2 {
		t.Fatalf("snapshot: %v, hashes %v", err, hashes)
	}
	copyStore := openT(t, dir)
	u, err := copyStore.UserByUsername("ana")
	if err != nil || u.Counts.Posts != 3 {
		t.Fatalf("the copy: %+v %v", u, err)
	}
}

// poke changes the partition of id directly in its file, behind the
// commands' back.
func poke(s *Store, id ID, now time.Time, fn func(tx *Tx) error) error {
	part := s.PartitionOf(id.Shard())
	return s.parts[part].db.Update(func(btx *bolt.Tx) error {
		return fn(&Tx{tx: btx, part: part, parts: len(s.parts), now: now, opt: &s.opt})
	})
}
