package feed

import (
	"context"
	"log/slog"
	"math"
	"sort"
	"sync/atomic"
	"time"

	"aperture/store"
)

// Explore keeps the ranking of recent public posts that the explore page
// shows, recomputed in the background.
type Explore struct {
	St       Store
	Log      *slog.Logger
	Window   time.Duration // how far back posts are considered (7 days)
	Interval time.Duration // how often the ranking is recomputed (1 minute)
	Max      int           // posts considered and kept (5,000 / 500)

	ranked atomic.Pointer[[]*store.Post]
}

// Score is the explore rank of a post at time now: engagement decayed by
// age, (likes + 2·comments) / (age in hours + 2)^1.5.
func Score(p *store.Post, now time.Time) float64 {
	age := math.Max(0, now.Sub(p.CreatedAt).Hours())
	return float64(p.LikeCount+2*p.CommentCount) / math.Pow(age+2, 1.5)
}

// Ranked returns the last computed ranking, best first.
func (e *Explore) Ranked() []*store.Post {
	if r := e.ranked.Load(); r != nil {
		return *r
	}
	return nil
}

// Refresh recomputes the ranking at now.
func (e *Explore) Refresh(now time.Time) error {
	if e.Window <= 0 {
		e.Window = 7 * 24 * time.Hour
	}
	if e.Max <= 0 {
		e.Max = 5000
	}
	posts, err := e.St.RecentPublicPosts(now.Add(-e.Window), e.Max)
	if err != nil {
		return err
	}
	sort.SliceStable(posts, func(i, j int) bool { return Score(posts[i], now) > Score(posts[j], now) })
	if len(posts) > 500 {
		posts = posts[:500]
	}
	e.ranked.Store(&posts)
	return nil
}

// Run refreshes every Interval until ctx ends.
func (e *Explore) Run(ctx context.Context) {
	if e.Interval <= 0 {
		e.Interval = time.Minute
	}
	t := time.NewTicker(e.Interval)
	defer t.Stop()
	for {
		if err := e.Refresh(time.Now()); err != nil && e.Log != nil {
			e.Log.Error("explore refresh", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
