package feed_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"aperture/feed"
	"aperture/store"
)

// fourPartitions is a world of four partitions whatever the tests'
// partition count: these tests are about what crosses them.
func fourPartitions(t *testing.T) *world {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{Partitions: 4, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	pool := feed.NewPool(st, feed.Config{Poll: 5 * time.Millisecond, BaseBackoff: 10 * time.Millisecond}, nil)
	noop := func(context.Context, *store.Job) error { return nil }
	pool.Handle(store.JobIndexPost, noop)
	pool.Handle(store.JobIndexUser, noop)
	pool.Start()
	t.Cleanup(func() { pool.Stop(); st.Close() })
	return &world{t: t, st: st, pool: pool, now: time.Now()}
}

// usersOnEveryPartition makes n accounts per partition.
func usersOnEveryPartition(w *world, prefix string, n int) [][]*store.User {
	w.t.Helper()
	parts := make([][]*store.User, w.st.Partitions())
	for p := range parts {
		for i := range n {
			parts[p] = append(parts[p], w.user(nameOn(fmt.Sprintf("%s%d_%d_", prefix, p, i), p, len(parts)), false))
		}
	}
	return parts
}

// Concurrent follows between accounts of different partitions: every
// follow reaches its followee's side exactly once, with exactly one
// "follow" activity, and the counts agree.
func TestConcurrentFollowsAcrossPartitions(t *testing.T) {
	w := fourPartitions(t)
	users := usersOnEveryPartition(w, "f", 4)
	ctx := context.Background()
	type edge struct{ from, to *store.User }
	var edges []edge
	for p, us := range users {
		for q, vs := range users {
			if p == q {
				continue
			}
			for _, u := range us {
				for _, v := range vs {
					edges = append(edges, edge{u, v})
				}
			}
		}
	}
	rand.Shuffle(len(edges), func(i, j int) { edges[i], edges[j] = edges[j], edges[i] })
	var wg sync.WaitGroup
	work := make(chan edge)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range work {
				if _, err := store.Exec(ctx, w.st, store.Follow{Meta: store.At(time.Now()), FollowerID: e.from.ID, TargetID: e.to.ID}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	for _, e := range edges {
		work <- e
	}
	close(work)
	wg.Wait()
	w.drain()
	w.check()
	for _, us := range users {
		for _, u := range us {
			got, _ := w.st.User(u.ID)
			if got.Counts.Followers != 12 || got.Counts.Following != 12 {
				t.Fatalf("%s counts %+v, want 12 and 12", u.Username, got.Counts)
			}
			groups, _, _, err := w.st.ActivityPage(u.ID, store.Page{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			actors := map[store.ID]int{}
			for _, g := range groups {
				if g.Type == store.ActFollow {
					if g.Count != 12 {
						t.Fatalf("%s: %d follow activities, want 12", u.Username, g.Count)
					}
					for _, a := range g.Actors {
						actors[a]++
					}
				}
			}
			for a, n := range actors {
				if n != 1 {
					t.Fatalf("%s: %d activities from %s", u.Username, n, a)
				}
			}
		}
	}
}

// Concurrent follows, unfollows, blocks and unblocks between accounts of
// different partitions, with requests to private accounts among them:
// once the outbox is drained both sides of every edge agree, no follow
// crosses a block, and every count is right.
func TestConcurrentGraphChangesAcrossPartitions(t *testing.T) {
	w := fourPartitions(t)
	users := usersOnEveryPartition(w, "g", 3)
	var all []*store.User
	for _, us := range users {
		all = append(all, us...)
	}
	for i, u := range all {
		if i%5 == 0 {
			priv := true
			exec(w, store.UpdateProfile{Meta: w.at(), UserID: u.ID, Private: &priv})
		}
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 7))
			for range 40 {
				a, b := all[r.IntN(len(all))], all[r.IntN(len(all))]
				if a == b {
					continue
				}
				at := store.At(time.Now())
				var err error
				switch r.IntN(6) {
				case 0, 1:
					_, err = store.Exec(ctx, w.st, store.Follow{Meta: at, FollowerID: a.ID, TargetID: b.ID})
				case 2:
					_, err = store.Exec(ctx, w.st, store.Unfollow{Meta: at, FollowerID: a.ID, TargetID: b.ID})
				case 3:
					_, err = store.Exec(ctx, w.st, store.Block{Meta: at, BlockerID: a.ID, BlockedID: b.ID})
				case 4:
					_, err = store.Exec(ctx, w.st, store.Unblock{Meta: at, BlockerID: a.ID, BlockedID: b.ID})
				case 5:
					_, err = store.Exec(ctx, w.st, store.AnswerRequest{Meta: at, TargetID: b.ID, RequesterID: a.ID, Approve: r.IntN(2) == 0})
				}
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	w.drain()
	w.check()
}

// Deleting an account that follows and is followed across partitions,
// likes and comments on posts of every partition, and whose own posts
// are liked and commented from every partition: once drained, nothing of
// it is left anywhere, every count is right, and every feed is clean.
func TestDeleteAccountAcrossPartitions(t *testing.T) {
	w := fourPartitions(t)
	users := usersOnEveryPartition(w, "d", 2)
	x := users[0][0]
	var others []*store.User
	for _, us := range users {
		for _, u := range us {
			if u != x {
				others = append(others, u)
			}
		}
	}
	var theirs []*store.Post
	for _, u := range others {
		w.follow(x, u)
		w.follow(u, x)
		theirs = append(theirs, w.post(u, "by "+u.Username))
	}
	w.drain()
	mine := []*store.Post{w.post(x, "one"), w.post(x, "two")}
	for i, p := range theirs {
		exec(w, store.Like{Meta: w.at(), UserID: x.ID, PostID: p.ID})
		exec(w, store.AddComment{Meta: w.at(), AuthorID: x.ID, PostID: p.ID, Text: fmt.Sprintf("nice %d", i)})
	}
	for _, u := range others {
		for _, p := range mine {
			exec(w, store.Like{Meta: w.at(), UserID: u.ID, PostID: p.ID})
			exec(w, store.AddComment{Meta: w.at(), AuthorID: u.ID, PostID: p.ID, Text: "hi"})
		}
	}
	w.drain()
	w.check()
	exec(w, store.DeleteAccount{Meta: w.at(), ActorID: x.ID, UserID: x.ID})
	w.drain()
	w.check()
	for _, p := range theirs {
		got, err := w.st.ViewPost(0, p.ID)
		if err != nil || got.LikeCount != 0 || got.CommentCount != 0 {
			t.Fatalf("post %s after the deletion: %+v %v", p.ID, got, err)
		}
		if c, _ := w.st.Comments(0, p.ID, store.Page{}); len(c.Comments) != 0 {
			t.Fatalf("post %s keeps %d comments", p.ID, len(c.Comments))
		}
	}
	for _, p := range mine {
		if _, err := w.st.ViewPost(0, p.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the deleted account's post: %v", err)
		}
	}
	for _, u := range others {
		got, _ := w.st.User(u.ID)
		if got.Counts.Followers != 0 || got.Counts.Following != 0 {
			t.Fatalf("%s counts %+v after the deletion", u.Username, got.Counts)
		}
		for _, id := range w.feedIDs(u) {
			for _, p := range mine {
				if id == p.ID {
					t.Fatalf("%s's feed keeps the deleted account's post", u.Username)
				}
			}
		}
	}
}
