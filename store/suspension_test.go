package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"aperture/store"
)

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
		jobs := dueJobs(f.s, f.at.Add(time.Hour))
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
			jobs := dueJobs(f.s, f.at.Add(time.Hour))
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

// dueJobs returns every partition's due jobs at now.
func dueJobs(s *store.Store, now time.Time) []*store.Job {
	var out []*store.Job
	for part := range s.Partitions() {
		jobs, _ := s.DueJobs(part, now, 1000, nil)
		out = append(out, jobs...)
	}
	return out
}
