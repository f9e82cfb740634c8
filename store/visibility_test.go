package store_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
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
	return r
}

// try runs a command and returns its error.
func try[R any](f *fixture, cmd store.Command[R]) error {
	_, err := store.Exec(context.Background(), f.s, cmd)
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
		{"the first public post to go private leaves the other", func(f *fixture, ana, ben *store.User) {
			f.post(ana, "#dusk", &lisbon)
			f.post(ben, "#dusk", &lisbon2)
			f.setPrivate(ana, true)
		}, publicView{tag: 1, place: 1, cells: 1, explore: 1, name: "Lisbon", lat: lisbon2.Lat}},
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

// TestSuspensionUncounts: what a suspended account did (likes, comments,
// follows) leaves every count and list it was in, and comes back when the
// suspension is lifted; deleting the account removes it for good.
func TestSuspensionUncounts(t *testing.T) {
	type counts struct{ likes, comments, followers int64 }
	for _, tc := range []struct {
		name string
		do   func(f *fixture, x, y *store.User, p *store.Post)
		want counts
	}{
		{"a like", func(f *fixture, x, _ *store.User, p *store.Post) {
			do(f, store.Like{Meta: f.now(), UserID: x.ID, PostID: p.ID})
		}, counts{likes: 1}},
		{"two comments", func(f *fixture, x, _ *store.User, p *store.Post) {
			do(f, store.AddComment{Meta: f.now(), AuthorID: x.ID, PostID: p.ID, Text: "one"})
			do(f, store.AddComment{Meta: f.now(), AuthorID: x.ID, PostID: p.ID, Text: "two"})
		}, counts{comments: 2}},
		{"a follow", func(f *fixture, x, y *store.User, _ *store.Post) {
			do(f, store.Follow{Meta: f.now(), FollowerID: x.ID, TargetID: y.ID})
		}, counts{followers: 1}},
		{"an approved follow request", func(f *fixture, x, y *store.User, _ *store.Post) {
			f.setPrivate(y, true)
			do(f, store.Follow{Meta: f.now(), FollowerID: x.ID, TargetID: y.ID})
			do(f, store.AnswerRequest{Meta: f.now(), TargetID: y.ID, RequesterID: x.ID, Approve: true})
		}, counts{followers: 1}},
		{"everything at once", func(f *fixture, x, y *store.User, p *store.Post) {
			do(f, store.Follow{Meta: f.now(), FollowerID: x.ID, TargetID: y.ID})
			do(f, store.Like{Meta: f.now(), UserID: x.ID, PostID: p.ID})
			do(f, store.AddComment{Meta: f.now(), AuthorID: x.ID, PostID: p.ID, Text: "hi"})
		}, counts{likes: 1, comments: 1, followers: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			x, y, z := f.user("x", false), f.user("y", false), f.user("z", false)
			do(f, store.Follow{Meta: f.now(), FollowerID: z.ID, TargetID: y.ID})
			p := f.post(y, "hello", nil)
			do(f, store.Like{Meta: f.now(), UserID: z.ID, PostID: p.ID})
			do(f, store.AddComment{Meta: f.now(), AuthorID: z.ID, PostID: p.ID, Text: "z was here"})
			base := counts{likes: 1, comments: 1, followers: 1} // z's
			tc.do(f, x, y, p)
			expect := func(when string, want counts, xShown bool) {
				t.Helper()
				post, err := f.s.ViewPost(z.ID, p.ID)
				if err != nil {
					t.Fatal(err)
				}
				author, _ := f.s.User(y.ID)
				got := counts{post.LikeCount, post.CommentCount, author.Counts.Followers}
				if got != want {
					t.Fatalf("%s: counts %+v, want %+v", when, got, want)
				}
				likers, _ := f.s.Likers(z.ID, p.ID, store.Page{})
				comments, _ := f.s.Comments(z.ID, p.ID, store.Page{})
				followers, _ := f.s.Followers(z.ID, y.ID, store.Page{})
				if int64(len(likers.Users)) != got.likes || int64(len(comments.Comments)) != got.comments || int64(len(followers.Users)) != got.followers {
					t.Fatalf("%s: lists of %d likers, %d comments, %d followers; counts %+v", when, len(likers.Users), len(comments.Comments), len(followers.Users), got)
				}
				shown := false
				for _, u := range append(likers.Users, followers.Users...) {
					shown = shown || u.ID == x.ID
				}
				for _, c := range comments.Comments {
					shown = shown || c.AuthorID == x.ID
				}
				if shown != xShown {
					t.Fatalf("%s: x shown in the lists: %v", when, shown)
				}
				f.check()
			}
			all := counts{base.likes + tc.want.likes, base.comments + tc.want.comments, base.followers + tc.want.followers}
			expect("before", all, tc.want != counts{})
			f.suspend(x, true)
			expect("suspended", base, false)
			f.suspend(x, false)
			expect("lifted", all, tc.want != counts{})
			f.suspend(x, true)
			f.deleteAccount(x)
			expect("deleted", base, false)
		})
	}
}

// TestSuspendedAccountsCannotAct: a suspended account's likes, comments
// and follows are refused, and what others do meanwhile to what it did
// keeps the counts right.
func TestSuspendedAccountsCannotAct(t *testing.T) {
	f := newFixture(t)
	x, y := f.user("x", false), f.user("y", false)
	p := f.post(y, "hello", nil)
	keep := do(f, store.AddComment{Meta: f.now(), AuthorID: x.ID, PostID: p.ID, Text: "kept"})
	gone := do(f, store.AddComment{Meta: f.now(), AuthorID: x.ID, PostID: p.ID, Text: "deleted while suspended"})
	f.suspend(x, true)
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"like", try(f, store.Like{Meta: f.now(), UserID: x.ID, PostID: p.ID})},
		{"unlike", try(f, store.Like{Meta: f.now(), UserID: x.ID, PostID: p.ID, Undo: true})},
		{"comment", try(f, store.AddComment{Meta: f.now(), AuthorID: x.ID, PostID: p.ID, Text: "x"})},
		{"follow", try(f, store.Follow{Meta: f.now(), FollowerID: x.ID, TargetID: y.ID})},
	} {
		if !errors.Is(tc.err, store.ErrForbidden) {
			t.Errorf("a suspended account's %s: %v", tc.name, tc.err)
		}
	}
	if err := try(f, store.Follow{Meta: f.now(), FollowerID: y.ID, TargetID: x.ID}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("following a suspended account: %v", err)
	}
	// The post's author deletes one of x's comments while x is suspended:
	// the count does not go below what is shown.
	do(f, store.DeleteComment{Meta: f.now(), ActorID: y.ID, CommentID: gone.ID})
	f.check()
	f.suspend(x, false)
	post, _ := f.s.ViewPost(y.ID, p.ID)
	if post.CommentCount != 1 {
		t.Fatalf("comment count %d, want 1 (%s)", post.CommentCount, keep.ID)
	}
	f.check()
}

// TestSuspensionEndsSessions: every way an account is suspended or
// deleted ends its sessions for good: a refresh is refused and extends
// nothing, even after the suspension is lifted; a new sign-in works again.
func TestSuspensionEndsSessions(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(f *fixture, x, other *store.User)
		lift bool
	}{
		{"suspended", func(f *fixture, x, _ *store.User) { f.suspend(x, true) }, true},
		{"suspended by a report", func(f *fixture, x, other *store.User) {
			r := do(f, store.FileReport{Meta: f.now(), ReporterID: other.ID, UserID: x.ID, Reason: "spam"})
			do(f, store.ResolveReport{Meta: f.now(), AdminID: f.admin.ID, ReportID: r.ID, Remove: true})
		}, true},
		{"deleted by an administrator", func(f *fixture, x, _ *store.User) {
			do(f, store.DeleteAccount{Meta: f.now(), ActorID: f.admin.ID, UserID: x.ID})
		}, false},
		{"deleted by itself", func(f *fixture, x, _ *store.User) {
			do(f, store.DeleteAccount{Meta: f.now(), ActorID: x.ID, UserID: x.ID})
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			x, other := f.user("x", false), f.user("other", false)
			sessions := []*store.Session{
				do(f, store.CreateSession{Meta: f.now(), UserID: x.ID, RefreshHash: []byte("a"), TTL: time.Hour}),
				do(f, store.CreateSession{Meta: f.now(), UserID: x.ID, RefreshHash: []byte("b"), TTL: time.Hour}),
			}
			tc.end(f, x, other)
			refused := func(when string, s *store.Session) {
				t.Helper()
				_, err := store.Exec(context.Background(), f.s, store.RotateRefresh{Meta: f.now(), SessionID: s.ID, OldHash: s.RefreshHash, NewHash: []byte("new"), TTL: 24 * time.Hour})
				if !errors.Is(err, store.ErrUnauthorized) {
					t.Fatalf("%s: refresh %v", when, err)
				}
				after, _ := f.s.Session(s.ID)
				u, _ := f.s.User(x.ID)
				if !after.ExpiresAt.Equal(s.ExpiresAt) || string(after.RefreshHash) != string(s.RefreshHash) || !u.SessionEnded(s.CreatedAt) {
					t.Fatalf("%s: the refused refresh changed the session: %+v", when, after)
				}
			}
			for _, s := range sessions {
				refused("ended", s)
			}
			if !tc.lift {
				return
			}
			f.suspend(x, false)
			for _, s := range sessions {
				refused("lifted", s)
			}
			fresh := do(f, store.CreateSession{Meta: f.now(), UserID: x.ID, RefreshHash: []byte("c"), TTL: time.Hour})
			if u, _ := f.s.User(x.ID); u.SessionEnded(fresh.CreatedAt) {
				t.Fatal("a session begun after the suspension was lifted is ended")
			}
			do(f, store.RotateRefresh{Meta: f.now(), SessionID: fresh.ID, OldHash: []byte("c"), NewHash: []byte("d"), TTL: time.Hour})
		})
	}
}

// TestBlobAccess: a photo file may be fetched only while an account in
// good standing uses it.
func TestBlobAccess(t *testing.T) {
	f := newFixture(t)
	pub, priv, gone := f.user("pub", false), f.user("priv", true), f.user("gone", false)
	shared := fmt.Sprintf("%064x", 999)
	upload := func(u *store.User, hash string) {
		do(f, store.CreateMedia{Meta: f.now(), OwnerID: u.ID, Hash: hash})
	}
	upload(pub, fmt.Sprintf("%064x", 1))
	upload(priv, fmt.Sprintf("%064x", 2))
	upload(gone, fmt.Sprintf("%064x", 3))
	upload(gone, shared)
	upload(priv, shared)
	f.suspend(gone, true)
	for _, tc := range []struct {
		name   string
		hash   string
		viewer store.ID
		want   store.BlobAccess
	}{
		{"a public account's", fmt.Sprintf("%064x", 1), 0, store.BlobAccess{Public: true, Live: true}},
		{"a public account's, by its owner", fmt.Sprintf("%064x", 1), pub.ID, store.BlobAccess{Owner: true, Public: true, Live: true}},
		{"a private account's", fmt.Sprintf("%064x", 2), pub.ID, store.BlobAccess{Live: true}},
		{"a private account's, by its owner", fmt.Sprintf("%064x", 2), priv.ID, store.BlobAccess{Owner: true, Live: true}},
		{"a suspended account's", fmt.Sprintf("%064x", 3), 0, store.BlobAccess{}},
		{"a suspended account's, by that account", fmt.Sprintf("%064x", 3), gone.ID, store.BlobAccess{}},
		{"a photo a suspended and a private account both uploaded", shared, 0, store.BlobAccess{Live: true}},
		{"an unknown hash", fmt.Sprintf("%064x", 4), 0, store.BlobAccess{}},
		{"not a hash", "../../etc/passwd", 0, store.BlobAccess{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.s.BlobAccess(tc.hash, tc.viewer)
			if err != nil || got != tc.want {
				t.Fatalf("access %+v (%v), want %+v", got, err, tc.want)
			}
		})
	}
	f.suspend(gone, false)
	if got, _ := f.s.BlobAccess(fmt.Sprintf("%064x", 3), 0); got != (store.BlobAccess{Public: true, Live: true}) {
		t.Fatalf("after the suspension is lifted: %+v", got)
	}
}

// TestActivityOfSuspendedAccounts: what a suspended account did leaves
// the activity it caused, and the unread count; both come back with it.
func TestActivityOfSuspendedAccounts(t *testing.T) {
	f := newFixture(t)
	x, y, z := f.user("x", false), f.user("y", false), f.user("z", false)
	p := f.post(y, "hello", nil)
	for _, a := range []store.Activity{
		{UserID: y.ID, Type: store.ActLike, ActorID: x.ID, PostID: p.ID},
		{UserID: y.ID, Type: store.ActLike, ActorID: z.ID, PostID: p.ID},
		{UserID: y.ID, Type: store.ActFollow, ActorID: x.ID},
		{UserID: y.ID, Type: store.ActMention, ActorID: x.ID, PostID: p.ID},
	} {
		a.CreatedAt = f.at
		do(f, store.AddActivity{Meta: f.now(), Activity: a})
	}
	expect := func(when string, groups, likers, unread int) {
		t.Helper()
		page, _, n, err := f.s.ActivityPage(y.ID, store.Page{})
		if err != nil || len(page) != groups || n != unread {
			t.Fatalf("%s: %d groups, %d unread (%v); want %d, %d", when, len(page), n, err, groups, unread)
		}
		for _, g := range page {
			if g.Type == store.ActLike && g.Count != likers {
				t.Fatalf("%s: the like group counts %d, want %d", when, g.Count, likers)
			}
			for _, a := range g.Actors {
				if a == x.ID && likers == 1 {
					t.Fatalf("%s: a suspended actor is shown", when)
				}
			}
		}
		if n, _ := f.s.UnreadActivity(y.ID); n != unread {
			t.Fatalf("%s: unread %d, want %d", when, n, unread)
		}
	}
	expect("before", 3, 2, 4)
	f.suspend(x, true)
	expect("suspended", 1, 1, 1)

	// An activity of x's that arrives while x is suspended (its job was
	// queued before) is kept, but pushed to no one.
	do(f, store.SavePushSubscription{Meta: f.now(), Sub: store.PushSubscription{UserID: y.ID, Endpoint: "https://push.example/y",
		P256dh: strings.Repeat("k", 87), Auth: strings.Repeat("a", 22)}})
	pushes := func() int {
		jobs, _ := f.s.DueJobs(f.at.Add(time.Hour), 1000, nil)
		n := 0
		for _, j := range jobs {
			if j.Kind == store.JobPush {
				n++
			}
		}
		return n
	}
	for _, actor := range []*store.User{z, x} {
		do(f, store.AddActivity{Meta: f.now(), Activity: store.Activity{UserID: y.ID, Type: store.ActFollow, ActorID: actor.ID, CreatedAt: f.at}})
	}
	if n := pushes(); n != 1 {
		t.Fatalf("%d pushes, want 1 (z's)", n)
	}
	f.suspend(x, false)
	expect("lifted", 3, 2, 6)
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

// TestFanoutReachesSuspendedFollowers: a post is still fanned out when
// its author's only followers are suspended (and so not counted), so
// their feeds are whole when the suspension is lifted.
func TestFanoutReachesSuspendedFollowers(t *testing.T) {
	for _, followers := range []int{1, 3} {
		t.Run(fmt.Sprintf("%d followers", followers), func(t *testing.T) {
			f := newFixture(t)
			author := f.user("author", false)
			for i := range followers {
				x := f.user(fmt.Sprintf("x%d", i), false)
				do(f, store.Follow{Meta: f.now(), FollowerID: x.ID, TargetID: author.ID})
				f.suspend(x, true)
			}
			if u, _ := f.s.User(author.ID); u.Counts.Followers != 0 {
				t.Fatalf("counts %d followers", u.Counts.Followers)
			}
			p := f.post(author, "while they are away", nil)
			jobs, _ := f.s.DueJobs(f.at.Add(time.Hour), 1000, nil)
			fanned := false
			for _, j := range jobs {
				var fj store.FanoutJob
				fanned = fanned || j.Kind == store.JobFanout && j.Decode(&fj) == nil && fj.Post == p.ID
			}
			if !fanned {
				t.Fatal("no fan-out job for the post")
			}
		})
	}
}

// BenchmarkSuspend measures a suspension and its lifting for an account
// with 1,000 geotagged, tagged posts, 1,000 likes and 500 comments on
// others' posts and 200 follows: the work of a change of standing.
func BenchmarkSuspend(b *testing.B) {
	f := &fixture{t: b, s: MustOpen(b, ""), at: t0}
	f.admin = do(f, store.CreateUser{Meta: f.now(), Username: "boss", PasswordHash: "x", Admin: true})
	x := f.user("x", false)
	var others []*store.Post
	for i := range 200 {
		o := f.user(fmt.Sprintf("o%d", i), false)
		do(f, store.Follow{Meta: f.now(), FollowerID: x.ID, TargetID: o.ID})
		for range 5 {
			others = append(others, f.post(o, "#elsewhere", nil))
		}
	}
	for i := range 1000 {
		f.post(x, fmt.Sprintf("#mine #n%d", i%50), &store.Location{Name: fmt.Sprintf("spot %d", i%100), Lat: float64(i%90) / 2, Lon: float64(i % 180)})
		do(f, store.Like{Meta: f.now(), UserID: x.ID, PostID: others[i].ID})
		if i%2 == 0 {
			do(f, store.AddComment{Meta: f.now(), AuthorID: x.ID, PostID: others[i].ID, Text: "hi"})
		}
	}
	b.ResetTimer()
	for i := range b.N {
		f.suspend(x, i%2 == 0)
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/change")
}
