package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"testing"
	"time"
)

// TestImportedPostsKeepTheirTime: imported posts take their place in the
// author's past — in the grid and the author's own feed — whatever order
// they arrive in, fresh posts stay above them, importing a key again
// creates nothing, and a deleted import stays deleted.
func TestImportedPostsKeepTheirTime(t *testing.T) {
	// One partition: the follower edge that decides on fan-out is then
	// written at once, with no job between the partitions.
	s, err := Open(t.TempDir(), Options{NoSync: true, Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	now := time.Now()
	ana, err := Exec(ctx, s, CreateUser{Meta: At(now), Username: "ana", PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	ben, _ := Exec(ctx, s, CreateUser{Meta: At(now), Username: "ben", PasswordHash: "h"})
	photo := func(i int) ID {
		m, err := Exec(ctx, s, CreateMedia{Meta: At(now), OwnerID: ana.ID, Hash: fmt.Sprintf("%064x", i), Width: 1, Height: 1})
		if err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	before, err := Exec(ctx, s, CreatePost{Meta: At(now), AuthorID: ana.ID, Caption: "made here first", MediaIDs: []ID{photo(0)}})
	if err != nil {
		t.Fatal(err)
	}
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, time.UTC) }
	taken := []time.Time{day(2011, 10, 6), day(2011, 10, 6).Add(time.Second), day(2015, 3, 1), day(2019, 7, 4),
		day(2025, 12, 31), day(2026, 1, 5), now.Add(-48 * time.Hour), now.Add(-time.Hour)}
	order := rand.Perm(len(taken))
	byKey := map[string]ID{}
	for _, i := range order {
		key := fmt.Sprintf("posts_1.json#%d", i)
		p, err := Exec(ctx, s, ImportPost{Meta: At(now), AuthorID: ana.ID, Source: SourceInstagram, Key: key, TakenAt: taken[i],
			Caption: fmt.Sprintf("from %d with @ben #old", taken[i].Year()), MediaIDs: []ID{photo(i + 1)},
			Location: &Location{Name: "Lisbon", Lat: 38.72, Lon: -9.14}})
		if err != nil {
			t.Fatalf("import %d: %v", i, err)
		}
		if !p.CreatedAt.Equal(taken[i]) || len(p.Mentions) != 0 {
			t.Fatalf("import %d: dated %v (want %v), mentions %v", i, p.CreatedAt, taken[i], p.Mentions)
		}
		byKey[key] = p.ID
	}
	after, err := Exec(ctx, s, CreatePost{Meta: At(now), AuthorID: ana.ID, Caption: "made here later", MediaIDs: []ID{photo(99)}})
	if err != nil {
		t.Fatal(err)
	}
	var want []ID // newest first
	want = append(want, after.ID, before.ID)
	for i := len(taken) - 1; i >= 0; i-- {
		want = append(want, byKey[fmt.Sprintf("posts_1.json#%d", i)])
	}
	grid, err := s.RecentPostIDs(ana.ID, 100)
	if err != nil || !slices.Equal(grid, want) {
		t.Fatalf("the grid is %v, want %v (%v)", grid, want, err)
	}
	feed, err := s.Feed(ana.ID, Page{Limit: 100})
	if err != nil || len(feed.Posts) != len(want) || feed.Posts[0].ID != after.ID || feed.Posts[len(want)-1].ID != want[len(want)-1] {
		t.Fatalf("the author's feed: %d posts (%v)", len(feed.Posts), err)
	}
	// Ben follows ana, and she imports more: her past is not news to him.
	if _, err := Exec(ctx, s, Follow{Meta: At(now), FollowerID: ben.ID, TargetID: ana.ID}); err != nil {
		t.Fatal(err)
	}
	fanouts := func() (n int) {
		for part := range s.Partitions() {
			jobs, err := s.DueJobs(part, now.Add(time.Hour), 1000, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range jobs {
				if j.Kind == JobFanout {
					n++
				}
			}
		}
		return n
	}
	queued := fanouts()
	if _, err := Exec(ctx, s, ImportPost{Meta: At(now), AuthorID: ana.ID, Source: SourceInstagram, Key: "late", TakenAt: day(2013, 1, 1), MediaIDs: []ID{photo(70)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := Exec(ctx, s, CreatePost{Meta: At(now), AuthorID: ana.ID, Caption: "news", MediaIDs: []ID{photo(71)}}); err != nil {
		t.Fatal(err)
	}
	if got := fanouts(); got != queued+1 {
		t.Fatalf("fan-out jobs went from %d to %d for one import and one fresh post", queued, got)
	}

	// Again: the same post, nothing new.
	key := "posts_1.json#3"
	again, err := Exec(ctx, s, ImportPost{Meta: At(now), AuthorID: ana.ID, Source: SourceInstagram, Key: key, TakenAt: taken[3], MediaIDs: []ID{photo(50)}})
	if err != nil || again == nil || again.ID != byKey[key] {
		t.Fatalf("importing again: %+v %v", again, err)
	}
	if u, _ := s.User(ana.ID); u.Counts.Posts != int64(len(want)+2) { // with the late import and the news
		t.Fatalf("ana has %d posts, want %d", u.Counts.Posts, len(want)+2)
	}
	// Deleted, it stays deleted.
	if _, err := Exec(ctx, s, DeletePost{Meta: At(now), ActorID: ana.ID, PostID: byKey[key]}); err != nil {
		t.Fatal(err)
	}
	if p, err := Exec(ctx, s, ImportPost{Meta: At(now), AuthorID: ana.ID, Source: SourceInstagram, Key: key, TakenAt: taken[3], MediaIDs: []ID{photo(51)}}); err != nil || p != nil {
		t.Fatalf("a deleted import came back: %+v %v", p, err)
	}
	if post, _, done, err := s.Imported(ana.ID, SourceInstagram, key); !done || err != nil || post != byKey[key] {
		t.Fatalf("Imported says %v, %v, %v for a key imported and deleted", post, done, err)
	}
	if _, _, done, _ := s.Imported(ana.ID, SourceAperture, key); done {
		t.Fatal("a key of one source counts for another")
	}
	// Keys and sources are checked.
	for _, c := range []ImportPost{{Source: "flickr", Key: "x"}, {Source: SourceInstagram}, {Source: SourceInstagram, Key: string(make([]byte, MaxImportKey+1))}} {
		c.Meta, c.AuthorID, c.MediaIDs = At(now), ana.ID, []ID{photo(60)}
		if _, err := Exec(ctx, s, c); !errors.Is(err, ErrInvalid) {
			t.Errorf("source %q key of %d bytes: %v", c.Source, len(c.Key), err)
		}
	}
}

// TestImportMillisKeepOrder: the compressed past and the exact present
// meet without a step back.
func TestImportMillisKeepOrder(t *testing.T) {
	times := []time.Time{time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC), compressedFrom, compressedFrom.Add(time.Second),
		time.Date(2010, 10, 6, 0, 0, 0, 0, time.UTC), Epoch.Add(-time.Millisecond), Epoch, compressedUntil.Add(-time.Second),
		compressedUntil, compressedUntil.Add(time.Millisecond), time.Now()}
	last := int64(-1)
	for i, at := range times {
		ms := importMillis(at)
		if ms < last || (i > 1 && ms == last) {
			t.Fatalf("%v gives %d after %d", at, ms, last)
		}
		last = ms
	}
	if importMillis(compressedUntil.Add(-time.Millisecond)) >= compressedMillis {
		t.Fatal("the compressed past reaches the exact present")
	}
}
