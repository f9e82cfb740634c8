package feed_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"aperture/feed"
	"aperture/store"
	"aperture/store/storetest"
)

func TestFollowPostFeedLoop(t *testing.T) {
	w := newWorld(t, store.Options{})
	alice, bob := w.user("alice", false), w.user("bob", false)
	old := w.post(bob, "before the follow #sunset")
	if s := w.follow(alice, bob); s != store.StateFollowing {
		t.Fatalf("state %s", s)
	}
	p := w.post(bob, "hello @alice #Sunset #sunset")
	w.drain()
	ids := w.feedIDs(alice)
	if !has(ids, p.ID) || !has(ids, old.ID) {
		t.Fatalf("alice's feed %v lacks the new post or the backfill", ids)
	}
	if !has(w.feedIDs(bob), p.ID) {
		t.Fatal("the author's own post is not in their feed")
	}
	if len(p.Tags) != 1 || p.Tags[0] != "sunset" || len(p.Mentions) != 1 || p.Mentions[0] != alice.ID {
		t.Fatalf("tags %v mentions %v", p.Tags, p.Mentions)
	}
	tagged, total, _ := w.st.TagPosts(0, "#SUNSET", store.Page{})
	if total != 2 || len(tagged.Posts) != 2 || tagged.Posts[0].ID != p.ID {
		t.Fatalf("tag page %d %v", total, tagged.Posts)
	}
	// Likes and comments reach bob's activity, grouped.
	carol := w.user("carol", false)
	exec(w, store.Like{Meta: w.at(), UserID: alice.ID, PostID: p.ID})
	exec(w, store.Like{Meta: w.at(), UserID: carol.ID, PostID: p.ID})
	exec(w, store.AddComment{Meta: w.at(), AuthorID: alice.ID, PostID: p.ID, Text: "lovely"})
	w.drain()
	groups, _, unread, err := w.st.ActivityPage(bob.ID, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var likeGroup *store.ActivityGroup
	for i := range groups {
		if groups[i].Type == store.ActLike {
			likeGroup = &groups[i]
		}
	}
	if likeGroup == nil || likeGroup.Count != 2 || unread != 4 { // 2 likes, 1 comment, 1 follow
		t.Fatalf("activity %+v unread %d", groups, unread)
	}
	exec(w, store.MarkActivityRead{Meta: w.at(), UserID: bob.ID})
	if _, _, unread, _ := w.st.ActivityPage(bob.ID, store.Page{}); unread != 0 {
		t.Fatalf("unread after marking read: %d", unread)
	}
	// Alice was mentioned.
	if g, _, _, _ := w.st.ActivityPage(alice.ID, store.Page{}); len(g) != 1 || g[0].Type != store.ActMention {
		t.Fatalf("mention activity %+v", g)
	}
	// Unfollow takes bob's posts out of alice's feed.
	exec(w, store.Unfollow{Meta: w.at(), FollowerID: alice.ID, TargetID: bob.ID})
	w.drain()
	if ids := w.feedIDs(alice); has(ids, p.ID) || has(ids, old.ID) {
		t.Fatalf("unfollowed posts still in feed: %v", ids)
	}
	w.check()
}

func TestPrivateAccountRequests(t *testing.T) {
	w := newWorld(t, store.Options{})
	priv, fan := w.user("priv", true), w.user("fan", false)
	p := w.post(priv, "secret")
	if s := w.follow(fan, priv); s != store.StateRequested {
		t.Fatalf("state %s", s)
	}
	if _, err := w.st.ViewPost(fan.ID, p.ID); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("pending requester sees the post: %v", err)
	}
	w.drain()
	reqs, _ := w.st.FollowRequests(priv.ID, store.Page{})
	if len(reqs.Users) != 1 || reqs.Users[0].ID != fan.ID {
		t.Fatalf("requests %v", reqs.Users)
	}
	exec(w, store.AnswerRequest{Meta: w.at(), TargetID: priv.ID, RequesterID: fan.ID, Approve: true})
	w.drain()
	if _, err := w.st.ViewPost(fan.ID, p.ID); err != nil {
		t.Fatalf("approved follower: %v", err)
	}
	if !has(w.feedIDs(fan), p.ID) {
		t.Fatal("approval did not backfill")
	}
	other := w.user("other", false)
	w.follow(other, priv)
	w.drain() // the request reaches priv's partition
	exec(w, store.AnswerRequest{Meta: w.at(), TargetID: priv.ID, RequesterID: other.ID, Approve: false})
	w.drain() // the answer reaches other's partition
	if r, _ := w.st.Relationship(other.ID, priv.ID); r.Following || r.Requested {
		t.Fatalf("denied request: %+v", r)
	}
	w.check()
}

func TestBlockCutsEverything(t *testing.T) {
	w := newWorld(t, store.Options{})
	a, b := w.user("blocker", false), w.user("blocked", false)
	w.follow(a, b)
	w.follow(b, a)
	pa, pb := w.post(a, "mine"), w.post(b, "theirs")
	w.drain()
	exec(w, store.Block{Meta: w.at(), BlockerID: a.ID, BlockedID: b.ID})
	w.drain()
	if has(w.feedIDs(a), pb.ID) || has(w.feedIDs(b), pa.ID) {
		t.Fatal("posts still in feeds across a block")
	}
	if _, err := w.st.ViewPost(b.ID, pa.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("blocked user sees the blocker's post: %v", err)
	}
	if _, _, err := w.st.ViewProfile(b.ID, "blocker"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("blocked user sees the blocker's profile: %v", err)
	}
	for _, cmd := range []func() error{
		func() error {
			_, err := store.Exec(context.Background(), w.st, store.Like{Meta: w.at(), UserID: b.ID, PostID: pa.ID})
			return err
		},
		func() error {
			_, err := store.Exec(context.Background(), w.st, store.AddComment{Meta: w.at(), AuthorID: b.ID, PostID: pa.ID, Text: "hi"})
			return err
		},
		func() error {
			_, err := store.Exec(context.Background(), w.st, store.Follow{Meta: w.at(), FollowerID: b.ID, TargetID: a.ID})
			return err
		},
	} {
		if err := cmd(); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("blocked user acted: %v", err)
		}
	}
	// Mentions of the blocker are dropped.
	p := w.post(b, "hey @blocker")
	if len(p.Mentions) != 0 {
		t.Fatalf("mention across a block: %v", p.Mentions)
	}
	w.check()
}

func TestConcurrentLikesExact(t *testing.T) {
	w := newWorld(t, store.Options{})
	author := w.user("popular", false)
	p := w.post(author, "like me")
	var users []*store.User
	for i := range 100 {
		users = append(users, w.user(fmt.Sprintf("liker%d", i), false))
	}
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Everyone likes twice; odd ones then unlike.
			for range 2 {
				store.Exec(context.Background(), w.st, store.Like{Meta: store.At(time.Now()), UserID: u.ID, PostID: p.ID})
			}
			if i%2 == 1 {
				store.Exec(context.Background(), w.st, store.Like{Meta: store.At(time.Now()), UserID: u.ID, PostID: p.ID, Undo: true})
			}
		}()
	}
	wg.Wait()
	got, _ := w.st.ViewPost(0, p.ID)
	likers, _ := w.st.Likers(0, p.ID, store.Page{Limit: 100})
	if got.LikeCount != 50 || len(likers.Users) != 50 {
		t.Fatalf("like count %d, likers %d", got.LikeCount, len(likers.Users))
	}
	w.check()
}

// TestRandomGraphKeepsInvariants runs a random sequence of follows,
// unfollows, blocks, posts, likes, comments and deletes and checks every
// counter against its list.
func TestRandomGraphKeepsInvariants(t *testing.T) {
	w := newWorld(t, store.Options{})
	rng := rand.New(rand.NewSource(7))
	var users []*store.User
	for i := range 12 {
		users = append(users, w.user(fmt.Sprintf("r%d", i), i%4 == 0))
	}
	var posts []*store.Post
	pick := func() *store.User { return users[rng.Intn(len(users))] }
	for range 600 {
		a, b := pick(), pick()
		switch rng.Intn(9) {
		case 0, 1:
			store.Exec(context.Background(), w.st, store.Follow{Meta: w.at(), FollowerID: a.ID, TargetID: b.ID})
		case 2:
			store.Exec(context.Background(), w.st, store.Unfollow{Meta: w.at(), FollowerID: a.ID, TargetID: b.ID})
		case 3:
			if rng.Intn(4) == 0 {
				store.Exec(context.Background(), w.st, store.Block{Meta: w.at(), BlockerID: a.ID, BlockedID: b.ID})
			} else {
				store.Exec(context.Background(), w.st, store.Unblock{Meta: w.at(), BlockerID: a.ID, BlockedID: b.ID})
			}
		case 4:
			posts = append(posts, w.post(a, fmt.Sprintf("#t%d #common", rng.Intn(5))))
		case 5, 6:
			if len(posts) > 0 {
				p := posts[rng.Intn(len(posts))]
				store.Exec(context.Background(), w.st, store.Like{Meta: w.at(), UserID: a.ID, PostID: p.ID, Undo: rng.Intn(3) == 0})
			}
		case 7:
			if len(posts) > 0 {
				p := posts[rng.Intn(len(posts))]
				store.Exec(context.Background(), w.st, store.AddComment{Meta: w.at(), AuthorID: a.ID, PostID: p.ID, Text: "c"})
			}
		case 8:
			if len(posts) > 0 {
				i := rng.Intn(len(posts))
				store.Exec(context.Background(), w.st, store.DeletePost{Meta: w.at(), ActorID: posts[i].AuthorID, PostID: posts[i].ID})
			}
		}
	}
	w.drain()
	w.check()
}

func TestFanoutToFiveThousand(t *testing.T) {
	w := newWorld(t, store.Options{})
	author := w.user("broadcaster", false)
	var followers []*store.User
	for i := range 5000 {
		u := exec(w, store.CreateUser{Meta: w.at(), Username: fmt.Sprintf("f%d", i), PasswordHash: "x"})
		exec(w, store.Follow{Meta: w.at(), FollowerID: u.ID, TargetID: author.ID})
		followers = append(followers, u)
	}
	w.drain()
	p := w.post(author, "to everyone")
	w.drain()
	for _, f := range followers {
		page, _ := w.st.Feed(f.ID, store.Page{Limit: 1})
		if len(page.Posts) != 1 || page.Posts[0].ID != p.ID {
			t.Fatalf("%s's feed lacks the post", f.Username)
		}
	}
	// Deleting removes it everywhere.
	t0 := time.Now()
	exec(w, store.DeletePost{Meta: w.at(), ActorID: author.ID, PostID: p.ID})
	w.drain()
	t.Logf("a post taken out of 5,000 feeds in %v", time.Since(t0))
	for _, f := range followers[:50] {
		if page, _ := w.st.Feed(f.ID, store.Page{Limit: 5}); len(page.Posts) != 0 {
			t.Fatalf("deleted post still in %s's feed", f.Username)
		}
	}
	w.check()
}

func TestCelebrityMergedAtRead(t *testing.T) {
	w := newWorld(t, store.Options{CelebrityAt: 3})
	star := w.user("star", false)
	var fans []*store.User
	for i := range 4 {
		f := w.user(fmt.Sprintf("fan%d", i), false)
		w.follow(f, star)
		fans = append(fans, f)
	}
	w.drain()
	p := w.post(star, "big news")
	w.drain()
	if st, _ := w.st.OutboxStats(); st.Depth != 0 {
		t.Fatal("outbox not drained")
	}
	for _, f := range fans {
		if !has(w.feedIDs(f), p.ID) {
			t.Fatalf("%s does not see the celebrity's post", f.Username)
		}
	}
	exec(w, store.Unfollow{Meta: w.at(), FollowerID: fans[0].ID, TargetID: star.ID})
	w.drain()
	if has(w.feedIDs(fans[0]), p.ID) {
		t.Fatal("unfollowed celebrity still merged in")
	}
}

// TestPaginationStableWhileNewPostsArrive walks a feed page by page while
// another goroutine keeps posting, and requires every post that existed
// at the start exactly once, in order.
func TestPaginationStableWhileNewPostsArrive(t *testing.T) {
	w := newWorld(t, store.Options{})
	reader, author := w.user("reader", false), w.user("writer", false)
	w.follow(reader, author)
	var before []store.ID
	for i := range 95 {
		before = append(before, w.post(author, fmt.Sprintf("post %d", i)).ID)
	}
	w.drain()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			m, err := store.Exec(context.Background(), w.st, store.CreateMedia{Meta: store.At(time.Now()), OwnerID: author.ID, Hash: fmt.Sprintf("%064x", 1_000_000+i), Width: 1, Height: 1})
			if err == nil {
				store.Exec(context.Background(), w.st, store.CreatePost{Meta: store.At(time.Now()), AuthorID: author.ID, Caption: "new", MediaIDs: []store.ID{m.ID}})
			}
		}
	}()
	var seen []store.ID
	first, _ := w.st.Feed(reader.ID, store.Page{Limit: 1})
	cursor := first.Posts[0].ID + 1 // start at the newest post when the walk began
	for {
		page, err := w.st.Feed(reader.ID, store.Page{Before: cursor, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page.Posts {
			seen = append(seen, p.ID)
		}
		if page.Next == 0 {
			break
		}
		cursor = page.Next
		time.Sleep(2 * time.Millisecond)
	}
	close(stop)
	<-done
	index := map[store.ID]int{}
	for i, id := range seen {
		if _, dup := index[id]; dup {
			t.Fatalf("post %d seen twice", id)
		}
		if i > 0 && id >= seen[i-1] {
			t.Fatalf("order broken at %d", i)
		}
		index[id] = i
	}
	for _, id := range before {
		if _, ok := index[id]; !ok {
			t.Fatalf("post %d skipped", id)
		}
	}
}

// TestRetriesAndDeadLetters: a failing job is retried with backoff, parked
// after MaxAttempts, and runs again once retried from the dead letters.
func TestRetriesAndDeadLetters(t *testing.T) {
	st, err := storetest.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pool := feed.NewPool(st, feed.Config{Poll: 2 * time.Millisecond, BaseBackoff: time.Millisecond, MaxAttempts: 3}, nil)
	var calls atomic.Int64
	var healthy atomic.Bool
	pool.Handle(store.JobIndexUser, func(context.Context, *store.Job) error {
		calls.Add(1)
		if !healthy.Load() {
			panic("index down") // a panic counts as a failure
		}
		return nil
	})
	pool.Start()
	defer pool.Stop()
	if _, err := store.Exec(context.Background(), st, store.CreateUser{Meta: store.At(time.Now()), Username: "retry", PasswordHash: "x"}); err != nil {
		t.Fatal(err)
	}
	var dead []*store.Job
	for range 2000 {
		if dead, _ = st.DeadJobs(10); len(dead) == 1 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	if len(dead) != 1 || dead[0].Attempts != 3 || calls.Load() != 3 || dead[0].LastError == "" {
		t.Fatalf("dead letters %+v after %d calls", dead, calls.Load())
	}
	if s, _ := st.OutboxStats(); s.Depth != 0 || s.DeadLetter != 1 {
		t.Fatalf("stats %+v", s)
	}
	healthy.Store(true)
	if _, err := store.Exec(context.Background(), st, store.RetryDeadJob{Meta: store.At(time.Now()), JobID: dead[0].ID}); err != nil {
		t.Fatal(err)
	}
	pool.Wake()
	for range 2000 {
		if s, _ := st.OutboxStats(); s.Depth == 0 && s.DeadLetter == 0 && calls.Load() == 4 {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	s, _ := st.OutboxStats()
	t.Fatalf("after retry: %+v, %d calls", s, calls.Load())
}

// Fan-outs due together run together, in rounds bounded by a common
// follower ID: with overlapping audiences, small rounds and a post deleted
// before its fan-out, every inbox ends with exactly the live posts of the
// authors its owner follows, each once.
func TestFanoutsRunTogether(t *testing.T) {
	st, err := storetest.Open(t.TempDir(), store.Options{NoSync: true, CelebrityAt: 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	pool := feed.NewPool(st, feed.Config{Poll: 5 * time.Millisecond, FanoutBatch: 7}, nil)
	noop := func(context.Context, *store.Job) error { return nil }
	pool.Handle(store.JobIndexPost, noop)
	pool.Handle(store.JobIndexUser, noop)
	pool.Handle(store.JobBackfill, noop) // follows came first: only fan-out fills the inboxes
	t.Cleanup(func() { pool.Stop(); st.Close() })
	w := &world{t: t, st: st, pool: pool, now: time.Now()}

	var authors, users []*store.User
	for i := range 4 {
		authors = append(authors, w.user(fmt.Sprintf("author%d", i), false))
	}
	follows := map[store.ID]map[store.ID]bool{} // user → authors
	for i := range 120 {
		u := w.user(fmt.Sprintf("reader%d", i), false)
		users = append(users, u)
		follows[u.ID] = map[store.ID]bool{}
		for k, a := range authors {
			if (i+k)%3 != 0 {
				w.follow(u, a)
				follows[u.ID][a.ID] = true
			}
		}
	}
	// The follows reach the authors' partitions first (fan-out reads the
	// authors' followers); then the pool stops while the posts are made.
	pool.Start()
	w.drain()
	pool.Stop()
	byAuthor := map[store.ID][]store.ID{}
	var gone store.ID
	for round := range 3 {
		for _, a := range authors {
			p := w.post(a, fmt.Sprintf("round %d", round))
			if round == 1 && a == authors[2] {
				exec(w, store.DeletePost{Meta: w.at(), ActorID: a.ID, PostID: p.ID})
				gone = p.ID
				continue
			}
			byAuthor[a.ID] = append(byAuthor[a.ID], p.ID)
		}
	}
	// Every job is waiting: the pool takes the twelve fan-outs together.
	pool.Start()
	w.drain()
	for _, u := range users {
		got := w.feedIDs(u)
		want := 0
		for a := range follows[u.ID] {
			want += len(byAuthor[a])
			for _, id := range byAuthor[a] {
				if !has(got, id) {
					t.Fatalf("%s follows the author of %s but the post is not in their feed %v", u.Username, id, got)
				}
			}
		}
		if len(got) != want {
			t.Fatalf("%s's feed holds %d posts, want %d: %v", u.Username, len(got), want, got)
		}
		if has(got, gone) {
			t.Fatalf("%s's feed holds a post deleted before its fan-out", u.Username)
		}
	}
	w.check()
}
