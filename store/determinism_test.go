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

// script is a sequence of commands; each step runs one through Exec.
type script []func(ctx context.Context, s *Store) error

func step[R any](cmd Command[R]) func(context.Context, *Store) error {
	return func(ctx context.Context, s *Store) error { _, err := Exec(ctx, s, cmd); return err }
}

// dump returns every key and value in every bucket, in order. With
// dataOnly it leaves out the partition's lastApplied, which counts log
// entries rather than describing data.
func dump(tb testing.TB, s *Store, dataOnly bool) []byte {
	tb.Helper()
	var buf bytes.Buffer
	err := s.parts[0].db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			fmt.Fprintf(&buf, "[%s]\n", name)
			return b.ForEach(func(k, v []byte) error {
				if dataOnly && string(name) == string(bMeta) && string(k) == string(keyApplied) {
					return nil
				}
				fmt.Fprintf(&buf, "%x=%x\n", k, v)
				return nil
			})
		})
	})
	if err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// TestDeterminism applies one command sequence, failures included, to two
// fresh databases, one command at a time and all at once through group
// commit, and requires byte-identical bucket contents.
func TestDeterminism(t *testing.T) {
	at := func(s int) Meta { return At(time.Date(2026, 11, 26, 9, 0, s, 0, time.UTC)) }
	bio := "bio"
	priv := true
	var steps script
	for i := range 20 {
		steps = append(steps, step(CreateUser{Meta: at(i), Username: fmt.Sprintf("user%d", i), PasswordHash: "h"}))
	}
	steps = append(steps,
		step(CreateUser{Meta: at(30), Username: "USER3", PasswordHash: "h"}), // conflict: no trace
		step(CreateUser{Meta: at(5), Username: "late", PasswordHash: "h"}),   // clock behind
	)
	s1 := openT(t, t.TempDir())
	var ids []ID
	for _, f := range steps {
		f(context.Background(), s1)
	}
	for i := range 20 {
		u, _ := s1.UserByUsername(fmt.Sprintf("user%d", i))
		ids = append(ids, u.ID)
	}
	more := script{
		step(UpdateProfile{Meta: at(40), UserID: ids[0], Bio: &bio, Private: &priv}),
		step(CreateSession{Meta: at(41), UserID: ids[1], RefreshHash: []byte("r1"), TTL: time.Hour}),
		step(UpdateProfile{Meta: at(42), UserID: 999}), // not found
	}
	for _, f := range more {
		f(context.Background(), s1)
	}

	// The same commands through one group commit each.
	s2 := openT(t, t.TempDir())
	all := append(append(script{}, steps...), more...)
	errs := make(chan error, len(all))
	batch := make([]*pending, len(all))
	for i, f := range all {
		batch[i] = &pending{done: make(chan struct{}), run: func(tx *Tx) error { return runOn(tx, f) }}
	}
	s2.parts[0].c.commit(batch)
	for _, p := range batch {
		<-p.done
		errs <- p.err
	}
	close(errs)
	failures := 0
	for err := range errs {
		if err != nil {
			failures++
			if !errors.Is(err, ErrConflict) && !errors.Is(err, ErrNotFound) {
				t.Fatalf("unexpected error %v", err)
			}
		}
	}
	if failures != 2 {
		t.Fatalf("%d commands failed, want 2", failures)
	}
	if d1, d2 := dump(t, s1, true), dump(t, s2, true); !bytes.Equal(d1, d2) {
		t.Fatalf("databases differ:\n%s\n---\n%s", d1, d2)
	}
}

// runOn runs a script step inside an existing transaction by handing it a
// store whose committer applies in place.
func runOn(tx *Tx, f func(context.Context, *Store) error) error {
	inline := &Store{parts: []*partition{{c: &committer{in: make(chan *pending, 1)}}}}
	errc := make(chan error, 1)
	go func() { errc <- f(context.Background(), inline) }()
	p := <-inline.parts[0].c.in
	p.err = p.run(tx)
	close(p.done)
	return <-errc
}
