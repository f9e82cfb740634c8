package feed_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"aperture/feed"
	"aperture/store"
)

// BenchmarkFanout10k measures the time until a post by an author with
// 10,000 followers is in every inbox (fsync on, 1,000 followers per
// transaction), and the inserts per second that makes.
func BenchmarkFanout10k(b *testing.B) {
	st, err := store.Open(b.TempDir(), store.Options{CelebrityAt: 1_000_000})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
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
	pool := feed.NewPool(st, feed.Config{Poll: time.Millisecond}, nil)
	noop := func(context.Context, *store.Job) error { return nil }
	pool.Handle(store.JobIndexPost, noop)
	pool.Handle(store.JobIndexUser, noop)
	pool.Start()
	defer pool.Stop()
	waitEmpty(b, st)
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

func waitEmpty(b *testing.B, st *store.Store) {
	for {
		s, err := st.OutboxStats()
		if err != nil {
			b.Fatal(err)
		}
		if s.Depth == 0 {
			return
		}
		time.Sleep(200 * time.Microsecond)
	}
}
