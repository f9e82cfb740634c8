package feed_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"aperture/feed"
	"aperture/store"
	"aperture/store/storetest"
)

// BenchmarkFanout10k measures the time until a post by an author with
// 10,000 followers is in every inbox (fsync on, 1,000 followers per
// transaction), and the inserts per second that makes.
func BenchmarkFanout10k(b *testing.B) {
	st := benchStore(b)
	ctx := context.Background()
	author, _ := store.Exec(ctx, st, store.CreateUser{Meta: store.At(time.Now()), Username: "author", PasswordHash: "x"})
	const followers = 10_000
	for i := range followers {
		u, err := store.Exec(ctx, st, store.CreateUser{Meta: store.At(time.Now()), Username: fmt.Sprintf("u%d", i), PasswordHash: "x"})
		if err != nil {
			b.Fatal(err)
		}
		store.Exec(ctx, st, store.Follow{Meta: store.At(time.Now()), FollowerID: u.ID, TargetID: author.ID})
	}
	pool := startBenchPool(b, st)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		m, _ := store.Exec(ctx, st, store.CreateMedia{Meta: store.At(time.Now()), OwnerID: author.ID, Hash: fmt.Sprintf("%064x", i+1), Width: 1, Height: 1})
		if _, err := store.Exec(ctx, st, store.CreatePost{Meta: store.At(time.Now()), AuthorID: author.ID, Caption: "hi", MediaIDs: []store.ID{m.ID}}); err != nil {
			b.Fatal(err)
		}
		pool.Wake()
		waitEmpty(b, st)
	}
	b.StopTimer()
	per := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(per.Milliseconds()), "ms/10k-fanout")
	b.ReportMetric(followers/per.Seconds(), "inserts/s")
}

// benchStore opens a store on disk with fsync on and no celebrities.
func benchStore(b *testing.B) *store.Store {
	st, err := storetest.Open(b.TempDir(), store.Options{CelebrityAt: 1_000_000})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// startBenchPool starts a pool that skips search indexing (and the jobs
// named in skip) and waits until it has run what setting up queued.
func startBenchPool(b *testing.B, st *store.Store, skip ...string) *feed.Pool {
	pool := feed.NewPool(st, feed.Config{Poll: time.Millisecond}, nil)
	noop := func(context.Context, *store.Job) error { return nil }
	for _, kind := range append([]string{store.JobIndexPost, store.JobIndexUser}, skip...) {
		pool.Handle(kind, noop)
	}
	pool.Start()
	b.Cleanup(pool.Stop)
	waitEmpty(b, st)
	return pool
}

// waitEmpty waits until the outbox holds no job (reading only its first
// key: OutboxStats counts every job, which would compete with the workers).
func waitEmpty(b *testing.B, st *store.Store) {
	for {
		empty := true
		for part := range st.Partitions() {
			due, err := st.DueJobs(part, time.Now().Add(time.Hour), 1, nil)
			if err != nil {
				b.Fatal(err)
			}
			empty = empty && len(due) == 0
		}
		if empty {
			return
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// BenchmarkFanoutSustained measures inbox inserts per second under a
// stream of posts: 10,000 users, 8 authors each followed by about half of
// them, and each iteration a burst of 3 posts per author (about 120,000
// inserts) written at once, timed until every inbox has them.
func BenchmarkFanoutSustained(b *testing.B) {
	st := benchStore(b)
	ctx := context.Background()
	var authors []*store.User
	for i := range 8 {
		a, err := store.Exec(ctx, st, store.CreateUser{Meta: store.At(time.Now()), Username: fmt.Sprintf("author%d", i), PasswordHash: "x"})
		if err != nil {
			b.Fatal(err)
		}
		authors = append(authors, a)
	}
	followers := make([]int, len(authors))
	var mu sync.Mutex
	var wg sync.WaitGroup
	work := make(chan int)
	for range 64 { // concurrent writers share transactions (group commit)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				u, err := store.Exec(ctx, st, store.CreateUser{Meta: store.At(time.Now()), Username: fmt.Sprintf("u%d", i), PasswordHash: "x"})
				if err != nil {
					b.Error(err)
					return
				}
				for k, a := range authors {
					if (i*2654435761>>uint(k+3))&1 == 0 { // about half, differently per author
						continue
					}
					if _, err := store.Exec(ctx, st, store.Follow{Meta: store.At(time.Now()), FollowerID: u.ID, TargetID: a.ID}); err != nil {
						b.Error(err)
						return
					}
					mu.Lock()
					followers[k]++
					mu.Unlock()
				}
			}
		}()
	}
	for i := range 10_000 {
		work <- i
	}
	close(work)
	wg.Wait()
	perBurst := 0
	for _, n := range followers {
		perBurst += 3 * n
	}
	pool := startBenchPool(b, st, store.JobBackfill)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		var posting sync.WaitGroup // the burst's posts are written at once, as by many people
		for k := range 3 {
			for j, a := range authors {
				posting.Add(1)
				go func() {
					defer posting.Done()
					m, _ := store.Exec(ctx, st, store.CreateMedia{Meta: store.At(time.Now()), OwnerID: a.ID, Hash: fmt.Sprintf("%048x%08x%08x", i, k, j), Width: 1, Height: 1})
					if _, err := store.Exec(ctx, st, store.CreatePost{Meta: store.At(time.Now()), AuthorID: a.ID, Caption: "hi", MediaIDs: []store.ID{m.ID}}); err != nil {
						b.Error(err)
					}
				}()
			}
		}
		posting.Wait()
		pool.Wake()
		waitEmpty(b, st)
	}
	b.StopTimer()
	per := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(perBurst), "inserts/burst")
	b.ReportMetric(float64(perBurst)/per.Seconds(), "inserts/s")
}
