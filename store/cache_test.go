package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"aperture/store"
)

// TestCacheSeesWrites: with readers hammering the cached post, every read
// made after a write returned sees that write.
func TestCacheSeesWrites(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t, "")
	author := mustCreate(t, s, "cached")
	m, _ := store.Exec(ctx, s, store.CreateMedia{Meta: store.At(t0), OwnerID: author.ID, Hash: hashA})
	p, err := store.Exec(ctx, s, store.CreatePost{Meta: store.At(t0), AuthorID: author.ID, MediaIDs: []store.ID{m.ID}})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					s.ViewPost(0, p.ID)
					s.UserPosts(0, author.ID, store.Page{}) // shares cached posts
				}
			}
		}()
	}
	for i := range 200 {
		u := mustCreate(t, s, fmt.Sprintf("liker%d", i))
		n, err := store.Exec(ctx, s, store.Like{Meta: store.At(time.Now()), UserID: u.ID, PostID: p.ID})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.ViewPost(0, p.ID)
		if err != nil || got.LikeCount != n {
			t.Fatalf("after like %d the post reads %d likes, want %d", i, got.LikeCount, n)
		}
		page, err := s.UserPosts(0, author.ID, store.Page{})
		if err != nil || len(page.Posts) != 1 || page.Posts[0].LikeCount != n {
			t.Fatalf("after like %d the profile grid reads %+v (%v), want %d likes", i, page.Posts, err, n)
		}
		bio := fmt.Sprint(i)
		store.Exec(ctx, s, store.UpdateProfile{Meta: store.At(time.Now()), UserID: author.ID, Bio: &bio})
		if a, _ := s.User(author.ID); a.Bio != bio {
			t.Fatalf("user read %q after writing %q", a.Bio, bio)
		}
	}
	close(stop)
	wg.Wait()
	store.Exec(ctx, s, store.DeletePost{Meta: store.At(time.Now()), ActorID: author.ID, PostID: p.ID})
	if _, err := s.ViewPost(0, p.ID); err == nil {
		t.Fatal("a deleted post is still served from the cache")
	}
}
