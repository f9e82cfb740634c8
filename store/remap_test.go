package store

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Writers on four partitions grow their files past a small mapping again
// and again (each growth a bbolt remap, which waits for every reader of
// the file) while views touch every partition, each in an order of its
// own. Views that began their partitions' transactions in the order they
// touched them would stop here for good; the work must finish.
func TestViewsAndRemapsDoNotDeadlock(t *testing.T) {
	s, err := Open(t.TempDir(), Options{Partitions: 4, MmapReserve: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var authors []ID
	for i := range 32 {
		u, err := Exec(ctx, s, CreateUser{Meta: At(time.Now()), Username: fmt.Sprintf("a%d", i), PasswordHash: "h"})
		if err != nil {
			t.Fatal(err)
		}
		authors = append(authors, u.ID)
	}
	var n atomic.Int64
	var wg sync.WaitGroup
	for w := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 120; i++ {
				k := n.Add(1)
				a := authors[(w+i)%len(authors)]
				m, err := Exec(ctx, s, CreateMedia{Meta: At(time.Now()), OwnerID: a, Hash: fmt.Sprintf("%064x", k), Width: 1080, Height: 1080})
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := Exec(ctx, s, CreatePost{Meta: At(time.Now()), AuthorID: a, Caption: "Evening light #sunset #travel", MediaIDs: []ID{m.ID}}); err != nil {
					t.Error(err)
					return
				}
				// A read that touches the partitions in an order of its own.
				order := rand.Perm(len(s.parts))
				if err := s.view(func(tx *Tx) error {
					for _, p := range order {
						tx.on(p).bucket(bUsers)
					}
					return nil
				}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		// Not closed: closing a deadlocked file would wait for ever too.
		t.Fatalf("views and commits stopped after %d posts: a deadlock", n.Load())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !s.grown.Load() {
		t.Fatal("no partition file grew past half its mapping: the test did not remap")
	}
}
