package store_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"aperture/store"
)

// fixture is a store with an administrator and a clock that moves one
// second per command.
type fixture struct {
	t     testing.TB
	s     *store.Store
	at    time.Time
	n     int
	admin *store.User
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, s: MustOpen(t, ""), at: t0}
	f.admin = do(f, store.CreateUser{Meta: f.now(), Username: "boss", PasswordHash: "x", Admin: true})
	return f
}

func (f *fixture) now() store.Meta {
	f.at = f.at.Add(time.Second)
	return store.At(f.at)
}

// do runs a command that must succeed.
func do[R any](f *fixture, cmd store.Command[R]) R {
	f.t.Helper()
	r, err := store.Exec(context.Background(), f.s, cmd)
	if err != nil {
		f.t.Fatalf("%T: %v", cmd, err)
	}
	store.Settle(f.t, f.s) // both sides of every edge, every partition's standing
	return r
}

// try runs a command and returns its error.
func try[R any](f *fixture, cmd store.Command[R]) error {
	_, err := store.Exec(context.Background(), f.s, cmd)
	store.Settle(f.t, f.s)
	return err
}

func (f *fixture) user(name string, private bool) *store.User {
	f.t.Helper()
	u := do(f, store.CreateUser{Meta: f.now(), Username: name, PasswordHash: "x"})
	if private {
		u = do(f, store.UpdateProfile{Meta: f.now(), UserID: u.ID, Private: ptr(true)})
	}
	return u
}

func (f *fixture) post(u *store.User, caption string, loc *store.Location) *store.Post {
	f.t.Helper()
	f.n++
	m := do(f, store.CreateMedia{Meta: f.now(), OwnerID: u.ID, Hash: fmt.Sprintf("%064x", f.n)})
	return do(f, store.CreatePost{Meta: f.now(), AuthorID: u.ID, Caption: caption, MediaIDs: []store.ID{m.ID}, Location: loc})
}

func (f *fixture) suspend(u *store.User, on bool) {
	f.t.Helper()
	do(f, store.SetSuspended{Meta: f.now(), AdminID: f.admin.ID, UserID: u.ID, Suspended: on})
}

func (f *fixture) setPrivate(u *store.User, on bool) {
	f.t.Helper()
	do(f, store.UpdateProfile{Meta: f.now(), UserID: u.ID, Private: &on})
}

func (f *fixture) deleteAccount(u *store.User) {
	f.t.Helper()
	do(f, store.DeleteAccount{Meta: f.now(), ActorID: f.admin.ID, UserID: u.ID})
	for !do(f, store.PurgeUser{Meta: f.now(), UserID: u.ID, Limit: 1}) {
	}
}

// check fails the test unless every invariant holds.
func (f *fixture) check() {
	f.t.Helper()
	bad, err := f.s.Check()
	if err != nil || len(bad) > 0 {
		f.t.Fatalf("invariants: %v %v", bad, err)
	}
}

var (
	lisbon  = store.Location{Name: "Lisbon", Lat: 38.7223, Lon: -9.1393}
	lisbon2 = store.Location{Name: "lisbon", Lat: 38.7201, Lon: -9.1402} // the same place, named by someone else
	cove    = store.Location{Name: "Secret Cove", Lat: -33.9, Lon: 18.4}
)

// publicView is what anyone may read about the #dusk tag, Lisbon and the
// map.
type publicView struct {
	tag, place, cells, explore int
	name                       string
	lat                        float64
}

func (f *fixture) publicView() publicView {
	f.t.Helper()
	var v publicView
	tags, err := f.s.TagsWithPrefix("dus", 10)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, tc := range tags {
		if tc.Tag == "dusk" {
			v.tag = tc.Posts
		}
	}
	if _, n, _ := f.s.TagPosts(0, "dusk", store.Page{}); n != v.tag {
		f.t.Fatalf("the tag page counts %d, typeahead %d", n, v.tag)
	}
	pl, err := f.s.PublicPlace(store.PlaceID(lisbon))
	switch {
	case err == nil:
		v.place, v.name, v.lat = int(pl.Posts), pl.Name, pl.Lat
		face, _, err := f.s.PlacePosts(0, pl.ID, store.Page{})
		if err != nil || *face != *pl {
			f.t.Fatalf("the place page shows %+v (%v), search %+v", face, err, pl)
		}
	case !errors.Is(err, store.ErrNotFound):
		f.t.Fatal(err)
	default:
		if _, _, err := f.s.PlacePosts(0, store.PlaceID(lisbon), store.Page{}); !errors.Is(err, store.ErrNotFound) {
			f.t.Fatalf("a place without public posts opens for anyone: %v", err)
		}
	}
	cells, err := f.s.GeoCells(1, -90, -180, 90, 180)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, c := range cells {
		v.cells += c.Count
	}
	recent, err := f.s.RecentPublicPosts(t0.Add(-time.Hour), 100)
	if err != nil {
		f.t.Fatal(err)
	}
	v.explore = len(recent)
	return v
}

// TestPublicAggregates: hashtag counts, places, map cells and explore
// count public posts only, through every change of an account's standing
// and of its posts.
func TestPublicAggregates(t *testing.T) {
	one := publicView{tag: 1, place: 1, cells: 1, explore: 1, name: "Lisbon", lat: lisbon.Lat}
	none := publicView{}
	for _, tc := range []struct {
		name string
		run  func(f *fixture, ana, ben *store.User)
		want publicView
	}{
		{"a public post counts", func(f *fixture, ana, _ *store.User) {
			f.post(ana, "#dusk", &lisbon)
		}, one},
		{"a private account's post does not", func(f *fixture, ana, _ *store.User) {
			f.setPrivate(ana, true)
			f.post(ana, "#dusk", &lisbon)
		}, none},
		{"going private takes posts out", func(f *fixture, ana, _ *store.User) {
			f.post(ana, "#dusk", &lisbon)
			f.setPrivate(ana, true)
		}, none},
		{"going public puts them back", func(f *fixture, ana, _ *store.User) {
			f.setPrivate(ana, true)
			f.post(ana, "#dusk", &lisbon)
			f.setPrivate(ana, false)
		}, one},
		{"a suspension takes posts out", func(f *fixture, ana, _ *store.User) {
			f.post(ana, "#dusk", &lisbon)
			f.suspend(ana, true)
		}, none},
		{"lifting it puts them back", func(f *fixture, ana, _ *store.User) {
			f.post(ana, "#dusk", &lisbon)
			f.suspend(ana, true)
			f.suspend(ana, false)
		}, one},
		{"going public while suspended changes nothing until lifted", func(f *fixture, ana, _ *store.User) {
			f.setPrivate(ana, true)
			f.post(ana, "#dusk", &lisbon)
			f.suspend(ana, true)
			f.setPrivate(ana, false)
			if v := f.publicView(); v != none {
				f.t.Fatalf("while suspended: %+v", v)
			}
			f.suspend(ana, false)
		}, one},
		{"a report resolved by suspending", func(f *fixture, ana, ben *store.User) {
			f.post(ana, "#dusk", &lisbon)
			r := do(f, store.FileReport{Meta: f.now(), ReporterID: ben.ID, UserID: ana.ID, Reason: "spam"})
			do(f, store.ResolveReport{Meta: f.now(), AdminID: f.admin.ID, ReportID: r.ID, Remove: true})
		}, none},
		{"a deleted account", func(f *fixture, ana, _ *store.User) {
			f.post(ana, "#dusk", &lisbon)
			f.post(ana, "#dusk again", &lisbon2)
			f.deleteAccount(ana)
		}, none},
		{"a deleted post", func(f *fixture, ana, _ *store.User) {
			f.post(ana, "#dusk", &lisbon)
			p := f.post(ana, "#dusk", &lisbon2)
			do(f, store.DeletePost{Meta: f.now(), ActorID: ana.ID, PostID: p.ID})
		}, publicView{tag: 1, place: 1, cells: 1, explore: 1, name: "Lisbon", lat: lisbon.Lat}},
		{"a caption edited away from the tag", func(f *fixture, ana, _ *store.User) {
			p := f.post(ana, "#dusk", &lisbon)
			do(f, store.EditCaption{Meta: f.now(), ActorID: ana.ID, PostID: p.ID, Caption: "#dawn"})
		}, publicView{place: 1, cells: 1, explore: 1, name: "Lisbon", lat: lisbon.Lat}},
		{"a private post beside a public one: the place is named and placed by the public one", func(f *fixture, ana, ben *store.User) {
			f.setPrivate(ana, true)
			f.post(ana, "#dusk", &lisbon)
			f.post(ben, "#dusk", &lisbon2)
		}, publicView{tag: 1, place: 1, cells: 1, explore: 1, name: "lisbon", lat: lisbon2.Lat}},
		{"two public posts: the place sits at their centroid", func(f *fixture, ana, ben *store.User) {
			f.post(ana, "#dusk", &lisbon)
			f.post(ben, "#dusk", &lisbon2)
		}, publicView{tag: 2, place: 2, cells: 2, explore: 2, name: "Lisbon", lat: (lisbon.Lat + lisbon2.Lat) / 2}},
		{"the first public post to go private leaves the other, which names the place", func(f *fixture, ana, ben *store.User) {
			f.post(ana, "#dusk", &lisbon)
			f.post(ben, "#dusk", &lisbon2)
			f.setPrivate(ana, true)
		}, publicView{tag: 1, place: 1, cells: 1, explore: 1, name: "lisbon", lat: lisbon2.Lat}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ana, ben := f.user("ana", false), f.user("ben", false)
			tc.run(f, ana, ben)
			got := f.publicView()
			if math.Abs(got.lat-tc.want.lat) < 1e-9 {
				got.lat = tc.want.lat
			}
			if got != tc.want {
				t.Fatalf("public view %+v, want %+v", got, tc.want)
			}
			f.check()
		})
	}
}

// TestAggregatesByViewer: where nothing is public, a tag's or place's
// count is what the viewer may see, and the place is unknown to anyone
// who may see none of its posts.
func TestAggregatesByViewer(t *testing.T) {
	for _, standing := range []string{"private", "suspended", "deleted"} {
		t.Run(standing, func(t *testing.T) {
			f := newFixture(t)
			owner := f.user("owner", standing == "private")
			follower, stranger, blocker := f.user("follower", false), f.user("stranger", false), f.user("blocker", false)
			do(f, store.Follow{Meta: f.now(), FollowerID: follower.ID, TargetID: owner.ID})
			if standing == "private" {
				do(f, store.AnswerRequest{Meta: f.now(), TargetID: owner.ID, RequesterID: follower.ID, Approve: true})
			}
			f.post(owner, "#hush", &cove)
			f.post(owner, "#hush again", &cove)
			do(f, store.Block{Meta: f.now(), BlockerID: blocker.ID, BlockedID: owner.ID})
			switch standing {
			case "suspended":
				f.suspend(owner, true)
			case "deleted":
				do(f, store.DeleteAccount{Meta: f.now(), ActorID: owner.ID, UserID: owner.ID}) // not purged yet
			}
			sees := 0
			if standing == "private" {
				sees = 2
			}
			for _, v := range []struct {
				name string
				id   store.ID
				sees int
			}{
				{"anonymous", 0, 0}, {"stranger", stranger.ID, 0}, {"blocker", blocker.ID, 0},
				// The store shows an account its own posts whatever its
				// standing; a suspended one cannot sign in to ask.
				{"follower", follower.ID, sees}, {"owner", owner.ID, 2},
			} {
				t.Run(v.name, func(t *testing.T) {
					page, n, err := f.s.TagPosts(v.id, "hush", store.Page{})
					if err != nil || n != v.sees || len(page.Posts) != v.sees {
						t.Fatalf("tag page: count %d, %d posts (%v); want %d", n, len(page.Posts), err, v.sees)
					}
					face, pp, err := f.s.PlacePosts(v.id, store.PlaceID(cove), store.Page{})
					switch {
					case v.sees == 0 && !errors.Is(err, store.ErrNotFound):
						t.Fatalf("the place shows to someone who sees none of its posts: %+v %v", face, err)
					case v.sees > 0 && (err != nil || face.Posts != int64(v.sees) || face.Name != "Secret Cove" || face.Lat != cove.Lat || len(pp.Posts) != v.sees):
						t.Fatalf("place %+v with %d posts (%v)", face, len(pp.Posts), err)
					}
				})
			}
			if tags, _ := f.s.TagsWithPrefix("hu", 10); len(tags) != 0 {
				t.Fatalf("typeahead: %+v", tags)
			}
			if pl, err := f.s.PublicPlace(store.PlaceID(cove)); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("place search finds %+v", pl)
			}
			if cells, _ := f.s.GeoCells(1, -90, -180, 90, 180); len(cells) != 0 {
				t.Fatalf("map cells %+v", cells)
			}
			f.check()
		})
	}
}

// TestVisiblePublic: explore's ranking, computed a minute earlier, shows
// a post only while it exists, is public content and the viewer is not on
// either side of a block with its author, with its current counts.
func TestVisiblePublic(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after func(f *fixture, author, viewer *store.User, p *store.Post)
		shown bool
	}{
		{"unchanged", func(*fixture, *store.User, *store.User, *store.Post) {}, true},
		{"the author went private (the viewer follows)", func(f *fixture, a, v *store.User, _ *store.Post) {
			do(f, store.Follow{Meta: f.now(), FollowerID: v.ID, TargetID: a.ID})
			f.setPrivate(a, true)
		}, false},
		{"the author was suspended", func(f *fixture, a, _ *store.User, _ *store.Post) { f.suspend(a, true) }, false},
		{"the post was deleted", func(f *fixture, a, _ *store.User, p *store.Post) {
			do(f, store.DeletePost{Meta: f.now(), ActorID: a.ID, PostID: p.ID})
		}, false},
		{"the viewer blocked the author", func(f *fixture, a, v *store.User, _ *store.Post) {
			do(f, store.Block{Meta: f.now(), BlockerID: v.ID, BlockedID: a.ID})
		}, false},
		{"the author blocked the viewer", func(f *fixture, a, v *store.User, _ *store.Post) {
			do(f, store.Block{Meta: f.now(), BlockerID: a.ID, BlockedID: v.ID})
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			author, viewer := f.user("author", false), f.user("viewer", false)
			p := f.post(author, "ranked", nil)
			ranked, _ := f.s.RecentPublicPosts(t0, 10)
			tc.after(f, author, viewer, p)
			try(f, store.Like{Meta: f.now(), UserID: f.admin.ID, PostID: p.ID}) // refused once hidden; counted otherwise
			got, err := f.s.VisiblePublic(viewer.ID, ranked)
			if err != nil || (len(got) == 1) != tc.shown {
				t.Fatalf("shown %d posts (%v), want shown %v", len(got), err, tc.shown)
			}
			if tc.shown && got[0].LikeCount != 1 {
				t.Fatalf("a stale like count: %d", got[0].LikeCount)
			}
		})
	}
}
