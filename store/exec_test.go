package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestGroupCommitIsolatesFailures submits many sign-ups at once, a third
// of them duplicates, and checks that every unique name got exactly one
// account and that no failed command left a trace.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	s := openT(t, t.TempDir())
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, conflicts := map[string]ID{}, 0
	for i := range 300 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("u%d", i%200)
			u, err := Exec(context.Background(), s, CreateUser{Meta: At(time.Now()), Username: name, PasswordHash: "h"})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				if _, dup := ok[name]; dup {
					t.Errorf("%s created twice", name)
				}
				ok[name] = u.ID
			case errors.Is(err, ErrConflict):
				conflicts++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if len(ok) != 200 || conflicts != 100 {
		t.Fatalf("%d created, %d conflicts", len(ok), conflicts)
	}
	for name, id := range ok {
		u, err := s.UserByUsername(name)
		if err != nil || u.ID != id {
			t.Fatalf("%s: stored %v, returned %d (%v)", name, u, id, err)
		}
	}
	n := 0
	for _, p := range s.parts {
		p.db.View(func(tx *bolt.Tx) error { n += tx.Bucket(bUsers).Stats().KeyN; return nil })
	}
	if n != 200 {
		t.Fatalf("%d user records for 200 names", n)
	}
}

// panicky is a command whose apply panics.
type panicky struct{ Meta }

func (panicky) Shard() uint16               { return 0 }
func (panicky) apply(*Tx) (struct{}, error) { panic("boom") }

func TestPanickingCommandIsAnError(t *testing.T) {
	s := openT(t, t.TempDir())
	if _, err := Exec(context.Background(), s, panicky{At(time.Now())}); err == nil {
		t.Fatal("a panicking command succeeded")
	}
	if _, err := Exec(context.Background(), s, CreateUser{Meta: At(time.Now()), Username: "after", PasswordHash: "h"}); err != nil {
		t.Fatalf("the committer died with the panic: %v", err)
	}
}

// BenchmarkWrites measures sign-up commands committed with fsync from 2
// and 64 concurrent writers, through aperture's group commit and, to
// compare, through bbolt's own Batch (MaxBatchSize 64, MaxBatchDelay 2 ms).
func BenchmarkWrites(b *testing.B) {
	for _, par := range []int{1, 32} {
		b.Run(fmt.Sprintf("writers=%d/group-commit", par*2), func(b *testing.B) {
			benchWrites(b, par, func(s *Store, cmd CreateUser) error {
				_, err := Exec(context.Background(), s, cmd)
				return err
			})
		})
		b.Run(fmt.Sprintf("writers=%d/bolt-batch", par*2), func(b *testing.B) {
			benchWrites(b, par, func(s *Store, cmd CreateUser) error {
				s.parts[0].db.MaxBatchSize, s.parts[0].db.MaxBatchDelay = 64, 2*time.Millisecond
				return s.parts[0].db.Batch(func(btx *bolt.Tx) error {
					_, err := cmd.apply(&Tx{tx: btx, now: cmd.At})
					return err
				})
			})
		})
	}
}

func benchWrites(b *testing.B, par int, write func(*Store, CreateUser) error) {
	s, err := Open(b.TempDir(), testOptions(Options{}))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.SetParallelism(par)
	var n int64
	var mu sync.Mutex
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			n++
			cmd := CreateUser{Meta: At(time.Now()), Username: fmt.Sprintf("bench%d", n), PasswordHash: "h"}
			mu.Unlock()
			if err := write(s, cmd); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCreatePost measures post creation without image processing
// (the photo record and the post, two commands) from 64 writers, fsync on.
func BenchmarkCreatePost(b *testing.B) {
	s, err := Open(b.TempDir(), testOptions(Options{}))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var authors []ID
	for i := range 64 {
		u, _ := Exec(ctx, s, CreateUser{Meta: At(time.Now()), Username: fmt.Sprintf("a%d", i), PasswordHash: "h"})
		authors = append(authors, u.ID)
	}
	var n atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			a := authors[int(i)%len(authors)]
			m, err := Exec(ctx, s, CreateMedia{Meta: At(time.Now()), OwnerID: a, Hash: fmt.Sprintf("%064x", i), Width: 1080, Height: 1080})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := Exec(ctx, s, CreatePost{Meta: At(time.Now()), AuthorID: a, Caption: "Evening light #sunset #travel", MediaIDs: []ID{m.ID}}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "posts/s")
}
