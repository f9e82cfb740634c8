package feed_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"aperture/feed"
	"aperture/store"
	"aperture/store/storetest"
)

type world struct {
	t    testing.TB
	st   *store.Store
	pool *feed.Pool
	now  time.Time
}

func newWorld(t testing.TB, opt store.Options) *world {
	t.Helper()
	opt.NoSync = true
	st, err := storetest.Open(t.TempDir(), opt)
	if err != nil {
		t.Fatal(err)
	}
	pool := feed.NewPool(st, feed.Config{Poll: 5 * time.Millisecond, BaseBackoff: 10 * time.Millisecond}, nil)
	noop := func(context.Context, *store.Job) error { return nil } // search indexing is tested in package search
	pool.Handle(store.JobIndexPost, noop)
	pool.Handle(store.JobIndexUser, noop)
	pool.Start()
	t.Cleanup(func() { pool.Stop(); st.Close() })
	return &world{t: t, st: st, pool: pool, now: time.Now()}
}

// at returns a Meta a millisecond after the last, so commands are ordered.
func (w *world) at() store.Meta {
	w.now = w.now.Add(time.Millisecond)
	return store.At(w.now)
}

func exec[R any](w *world, cmd store.Command[R]) R {
	w.t.Helper()
	r, err := store.Exec(context.Background(), w.st, cmd)
	if err != nil {
		w.t.Fatalf("%T: %v", cmd, err)
	}
	return r
}

func (w *world) user(name string, private bool) *store.User {
	w.t.Helper()
	u := exec(w, store.CreateUser{Meta: w.at(), Username: name, PasswordHash: "x"})
	if private {
		u = exec(w, store.UpdateProfile{Meta: w.at(), UserID: u.ID, Private: &private})
	}
	return u
}

var hashN int

// post shares one fresh photo with a caption.
func (w *world) post(author *store.User, caption string) *store.Post {
	w.t.Helper()
	hashN++
	m := exec(w, store.CreateMedia{Meta: w.at(), OwnerID: author.ID, Hash: fmt.Sprintf("%064x", hashN), Width: 1080, Height: 1080})
	return exec(w, store.CreatePost{Meta: w.at(), AuthorID: author.ID, Caption: caption, MediaIDs: []store.ID{m.ID}})
}

func (w *world) follow(a, b *store.User) store.FollowState {
	w.t.Helper()
	return exec(w, store.Follow{Meta: w.at(), FollowerID: a.ID, TargetID: b.ID})
}

// drain waits until the outbox is empty.
func (w *world) drain() {
	w.t.Helper()
	w.pool.Wake()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		st, err := w.st.OutboxStats()
		if err != nil {
			w.t.Fatal(err)
		}
		if st.Depth == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	w.t.Fatal("outbox did not drain")
}

func (w *world) check() {
	w.t.Helper()
	bad, err := w.st.Check()
	if err != nil || len(bad) > 0 {
		w.t.Fatalf("invariants: %v\n%s", err, strings.Join(bad, "\n"))
	}
}

func (w *world) feedIDs(u *store.User) []store.ID {
	w.t.Helper()
	page, err := w.st.Feed(u.ID, store.Page{Limit: 100})
	if err != nil {
		w.t.Fatal(err)
	}
	var ids []store.ID
	for _, p := range page.Posts {
		ids = append(ids, p.ID)
	}
	return ids
}

func has(ids []store.ID, id store.ID) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}
