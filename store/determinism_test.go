package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// script is a sequence of commands; each step makes one ready to commit
// (prepared against the store it will run on).
type script []scriptStep

// scriptStep runs one command through Exec, or makes it a pending
// command for a batch of one's own.
type scriptStep struct {
	exec func(ctx context.Context, s *Store) error
	pend func(ctx context.Context, s *Store) *pending
}

func step[R any](cmd Command[R]) scriptStep {
	exec := func(ctx context.Context, s *Store) error { _, err := Exec(ctx, s, cmd); return err }
	return scriptStep{exec: exec, pend: func(ctx context.Context, s *Store) *pending {
		if p, ok := cmd.(preparer[R]); ok {
			c, _, err := p.prepare(ctx, s)
			if err != nil {
				return &pending{done: make(chan struct{}), err: err}
			}
			cmd = c
		}
		return &pending{done: make(chan struct{}), shard: cmd.Shard(), cmd: cmd, run: func(tx *Tx) error {
			tx.now = cmd.Time()
			_, err := cmd.apply(tx)
			return err
		}}
	}}
}

// runSteps runs each step through Exec, in its own transaction, and
// returns how many failed.
func runSteps(t *testing.T, s *Store, steps script) int {
	failed := 0
	for _, f := range steps {
		if f.exec(context.Background(), s) != nil {
			failed++
		}
	}
	return failed
}

// dump returns every key and value in every bucket, in order. With
// dataOnly it leaves out the partition's lastApplied, which counts log
// entries rather than describing data.
func dump(tb testing.TB, s *Store, dataOnly bool) []byte {
	tb.Helper()
	var buf bytes.Buffer
	for _, p := range s.parts {
		fmt.Fprintf(&buf, "partition %d\n", p.idx)
		dumpFile(tb, &buf, p.db, dataOnly)
	}
	return buf.Bytes()
}

func dumpFile(tb testing.TB, buf *bytes.Buffer, db *bolt.DB, dataOnly bool) {
	tb.Helper()
	err := db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			fmt.Fprintf(buf, "[%s]\n", name)
			return b.ForEach(func(k, v []byte) error {
				if dataOnly && string(name) == string(bMeta) && string(k) == string(keyApplied) {
					return nil
				}
				fmt.Fprintf(buf, "%x=%x\n", k, v)
				return nil
			})
		})
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// TestDeterminism applies one command sequence, failures included (some
// before any write, some after), to two fresh databases, one command at a
// time and all at once through group commit, and requires byte-identical
// bucket contents.
func TestDeterminism(t *testing.T) {
	at := func(s int) Meta { return At(time.Date(2026, 11, 26, 9, 0, s, 0, time.UTC)) }
	bio := "bio"
	priv := true
	var steps script
	for i := range 20 {
		steps = append(steps, step(CreateUser{Meta: at(i), Username: fmt.Sprintf("user%d", i), PasswordHash: "h"}))
	}
	steps = append(steps,
		step(CreateUser{Meta: at(30), Username: "USER3", PasswordHash: "h"}), // conflict: refused before its partition
		step(CreateUser{Meta: at(5), Username: "late", PasswordHash: "h"}),   // clock behind
	)
	// One partition: the test is about a partition's group commit.
	s1, s2 := openOne(t), openOne(t)
	if n := runSteps(t, s1, steps); n != 1 {
		t.Fatalf("%d sign-ups failed, want 1", n)
	}
	var ids []ID
	for i := range 20 {
		u, err := s1.UserByUsername(fmt.Sprintf("user%d", i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	more := script{
		step(UpdateProfile{Meta: at(40), UserID: ids[0], Bio: &bio, Private: &priv}),
		step(CreateSession{Meta: at(41), UserID: ids[1], RefreshHash: []byte("r1"), TTL: time.Hour}),
		step(UpdateProfile{Meta: at(42), UserID: 999}),                          // not found: fails before writing
		step(CreatePost{Meta: at(43), AuthorID: ids[2], MediaIDs: []ID{12345}}), // fails after minting an ID
		step(CreateSession{Meta: at(44), UserID: ids[2], RefreshHash: []byte("r2"), TTL: time.Hour}),
	}
	if n := runSteps(t, s1, more); n != 2 {
		t.Fatalf("%d commands failed, want 2", n)
	}

	// The same commands through one group commit.
	var batch []*pending
	failures := 0
	for _, f := range append(append(script{}, steps...), more...) {
		p := f.pend(context.Background(), s2)
		if p.run == nil {
			failures++
			continue
		}
		batch = append(batch, p)
	}
	s2.parts[0].c.commit(batch)
	for _, p := range batch {
		<-p.done
		if p.err != nil {
			failures++
			if !errors.Is(p.err, ErrForbidden) && !errors.Is(p.err, ErrNotFound) {
				t.Fatalf("unexpected error %v", p.err)
			}
		}
	}
	if failures != 3 {
		t.Fatalf("%d commands failed, want 3", failures)
	}
	if d1, d2 := dump(t, s1, true), dump(t, s2, true); !bytes.Equal(d1, d2) {
		t.Fatalf("databases differ:\n%s\n---\n%s", d1, d2)
	}
}

// openOne opens a fresh store with one partition.
func openOne(t *testing.T) *Store {
	s, err := Open(t.TempDir(), Options{NoSync: true, Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
