package feed_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"aperture/feed"
	"aperture/store"
)

// recorder is a LogSink that keeps every partition's log.
type recorder struct {
	mu      sync.Mutex
	entries map[int][][]byte
}

func (r *recorder) Append(part int, seq uint64, entry []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.entries == nil {
		r.entries = map[int][][]byte{}
	}
	if want := uint64(len(r.entries[part]) + 1); seq != want {
		return fmt.Errorf("partition %d: entry %d where %d was due", part, seq, want)
	}
	r.entries[part] = append(r.entries[part], bytes.Clone(entry))
	return nil
}

// nameOn returns a username (prefix and a number) whose account lives in
// partition part of parts.
func nameOn(prefix string, part, parts int) string {
	for i := 0; ; i++ {
		n := fmt.Sprintf("%s%d", prefix, i)
		if int(store.ShardForUsername(n))%parts == part {
			return n
		}
	}
}

// TestReplayEveryCommand drives every kind of command through a
// four-partition store with its worker pool running (accounts, sessions,
// follows and requests across partitions, blocks, posts, likes, comments,
// mentions, deletions, reports, suspension, account deletion, webhooks,
// push subscriptions, failing and dead jobs, sweeps, repairs), records
// each partition's log, and replays every log into a fresh directory:
// each partition must come out byte for byte the same, with the same
// lastApplied. It fails when a registered command never appears in the
// logs, so a new command must be exercised here.
func TestReplayEveryCommand(t *testing.T) {
	const parts = 4
	rec := &recorder{}
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{Partitions: parts, NoSync: true, CelebrityAt: 50, Log: rec})
	if err != nil {
		t.Fatal(err)
	}
	var failOnce atomic.Int32
	failOnce.Store(2)
	var deadly atomic.Bool
	deadly.Store(true)
	pool := feed.NewPool(st, feed.Config{Poll: 5 * time.Millisecond, BaseBackoff: 5 * time.Millisecond, MaxAttempts: 3}, nil)
	pool.Handle(store.JobIndexPost, func(context.Context, *store.Job) error {
		if failOnce.Add(-1) >= 0 {
			return errors.New("the index is busy") // two failed attempts, then it works
		}
		return nil
	})
	pool.Handle(store.JobIndexUser, func(context.Context, *store.Job) error { return nil })
	pool.Handle(store.JobWebhookMatch, func(context.Context, *store.Job) error { return nil })
	pool.Handle(store.JobWebhookDeliver, func(context.Context, *store.Job) error { return nil })
	pool.Handle(store.JobPush, func(context.Context, *store.Job) error {
		if deadly.Load() {
			return errors.New("the push service is down") // parked after three attempts
		}
		return nil
	})
	pool.Start()
	w := &world{t: t, st: st, pool: pool, now: time.Now()}
	ctx := context.Background()

	// Accounts on every partition, and an administrator.
	a := w.user(nameOn("ana", 0, parts), false)
	b := w.user(nameOn("ben", 1, parts), true)
	c := w.user(nameOn("cy", 2, parts), false)
	d := w.user(nameOn("dee", 3, parts), false)
	admin := exec(w, store.CreateUser{Meta: w.at(), Username: nameOn("root", 1, parts), PasswordHash: "x", Admin: true})
	exec(w, store.UpdatePreferences{Meta: w.at(), UserID: a.ID, Prefs: store.Preferences{Push: []string{store.ActLike, store.ActComment, store.ActFollow}}})

	// Sessions.
	sess := exec(w, store.CreateSession{Meta: w.at(), UserID: a.ID, RefreshHash: []byte("r1"), TTL: time.Hour})
	exec(w, store.RotateRefresh{Meta: w.at(), SessionID: sess.ID, OldHash: []byte("r1"), NewHash: []byte("r2"), TTL: time.Hour})
	exec(w, store.RevokeSession{Meta: w.at(), SessionID: sess.ID})

	// Push subscriptions: one kept (its pushes fail and are parked), one
	// removed; an administrator's, which an alert is pushed to.
	key := strings.Repeat("k", 87)
	exec(w, store.SavePushSubscription{Meta: w.at(), Sub: store.PushSubscription{UserID: a.ID, Endpoint: "https://push.example/1", P256dh: key, Auth: "0123456789abcdef"}})
	gone := exec(w, store.SavePushSubscription{Meta: w.at(), Sub: store.PushSubscription{UserID: a.ID, Endpoint: "https://push.example/2", P256dh: key, Auth: "0123456789abcdef"}})
	exec(w, store.DeletePushSubscription{Meta: w.at(), UserID: a.ID, SubID: gone.ID})
	exec(w, store.SavePushSubscription{Meta: w.at(), Sub: store.PushSubscription{UserID: admin.ID, Endpoint: "https://push.example/admin", P256dh: key, Auth: "0123456789abcdef"}})
	exec(w, store.PushAlert{Meta: w.at(), UserID: admin.ID, Title: "Firing: Free space on the data volume is low", Body: "disk-free-warning is 9 %", URL: "/admin/alerts"})

	// Follows across partitions: a request approved, one denied, a
	// follow undone, a block lifted.
	w.follow(a, b)
	w.follow(c, b)
	w.follow(b, a)
	w.follow(c, a)
	w.follow(d, a)
	w.follow(a, c)
	w.drain()
	exec(w, store.AnswerRequest{Meta: w.at(), TargetID: b.ID, RequesterID: a.ID, Approve: true})
	exec(w, store.AnswerRequest{Meta: w.at(), TargetID: b.ID, RequesterID: c.ID, Approve: false})
	exec(w, store.Unfollow{Meta: w.at(), FollowerID: d.ID, TargetID: a.ID})
	exec(w, store.Block{Meta: w.at(), BlockerID: d.ID, BlockedID: c.ID})
	exec(w, store.Unblock{Meta: w.at(), BlockerID: d.ID, BlockedID: c.ID})
	w.drain()

	// A subscription that a post matches, delivered once, then removed.
	sub := exec(w, store.CreateSubscription{Meta: w.at(), Sub: store.Subscription{OwnerID: d.ID, Object: store.SubTag, Tag: "sunrise",
		CallbackURL: "https://hooks.example/in", Secret: "a secret of sixteen+"}})
	exec(w, store.SetSubscription{Meta: w.at(), OwnerID: d.ID, SubID: sub.ID, Enabled: true})

	// Posts, fanned out to followers in other partitions; likes, comments,
	// mentions, an edit, deletions.
	p := w.post(a, "First light #sunrise with @"+c.Username)
	exec(w, store.QueueDeliveries{Meta: w.at(), PostID: p.ID})
	exec(w, store.DeliveryResult{Meta: w.at(), SubID: sub.ID, Error: "502 from the callback"})
	exec(w, store.DeleteSubscription{Meta: w.at(), OwnerID: d.ID, SubID: sub.ID})
	exec(w, store.EditCaption{Meta: w.at(), ActorID: a.ID, PostID: p.ID, Caption: "First light #sunrise #sea"})
	exec(w, store.Like{Meta: w.at(), UserID: c.ID, PostID: p.ID})
	exec(w, store.Like{Meta: w.at(), UserID: b.ID, PostID: p.ID})
	cm := exec(w, store.AddComment{Meta: w.at(), AuthorID: c.ID, PostID: p.ID, Text: "lovely @" + b.Username})
	own := exec(w, store.AddComment{Meta: w.at(), AuthorID: d.ID, PostID: p.ID, Text: "nice"})
	exec(w, store.DeleteComment{Meta: w.at(), ActorID: d.ID, CommentID: own.ID})
	cp := w.post(c, "from cy")
	exec(w, store.Like{Meta: w.at(), UserID: a.ID, PostID: cp.ID})
	doomed := w.post(a, "soon gone")
	exec(w, store.DeletePost{Meta: w.at(), ActorID: a.ID, PostID: doomed.ID})
	w.follow(d, a) // again, now that a has posts to backfill
	w.drain()
	exec(w, store.MarkActivityRead{Meta: w.at(), UserID: a.ID})

	// The outbox: a parked job retried, another discarded, queued jobs
	// dropped in bulk.
	waitFor(t, func() bool { dead, _ := st.DeadJobs(10); return len(dead) >= 1 })
	deadly.Store(false)
	dead, _ := st.DeadJobs(10)
	exec(w, store.RetryDeadJob{Meta: w.at(), JobID: dead[0].ID})
	w.drain()
	deadly.Store(true)
	exec(w, store.Like{Meta: w.at(), UserID: d.ID, PostID: p.ID}) // another push to a
	waitFor(t, func() bool { dead, _ := st.DeadJobs(10); return len(dead) >= 1 })
	dead, _ = st.DeadJobs(10)
	exec(w, store.DiscardDeadJob{Meta: w.at(), JobID: dead[0].ID})
	for part := range parts {
		if _, err := store.Exec(ctx, st, store.DiscardJobs{Meta: w.at(), On: store.PartitionShard(part), Kinds: []string{"nothing-queued"}, Limit: 10}); err != nil {
			t.Fatal(err)
		}
	}

	// Reports: a post removed and an account suspended through other
	// partitions, the suspension lifted.
	r1 := exec(w, store.FileReport{Meta: w.at(), ReporterID: c.ID, PostID: cp.ID, Reason: "spam"})
	exec(w, store.ResolveReport{Meta: w.at(), AdminID: admin.ID, ReportID: r1.ID, Remove: true})
	r2 := exec(w, store.FileReport{Meta: w.at(), ReporterID: a.ID, UserID: d.ID, Reason: "rude"})
	exec(w, store.ResolveReport{Meta: w.at(), AdminID: admin.ID, ReportID: r2.ID, Remove: true})
	w.drain()
	exec(w, store.SetSuspended{Meta: w.at(), AdminID: admin.ID, UserID: d.ID, Suspended: false})

	// An account deleted with follows both ways, likes and a comment in
	// other partitions.
	exec(w, store.DeleteAccount{Meta: w.at(), ActorID: c.ID, UserID: c.ID})
	w.drain()
	if got, _ := st.ViewPost(a.ID, p.ID); got == nil || got.LikeCount != 2 || got.CommentCount != 0 {
		t.Fatalf("after cy's deletion the post shows %+v", got)
	}
	_ = cm

	// A post brought from Instagram, dated in its past, and again.
	old := exec(w, store.CreateMedia{Meta: w.at(), OwnerID: a.ID, Hash: fmt.Sprintf("%064x", 998), Width: 10, Height: 10})
	for range 2 {
		exec(w, store.ImportPost{Meta: w.at(), AuthorID: a.ID, Source: store.SourceInstagram, Key: "posts_1.json#0",
			TakenAt: time.Date(2014, 5, 1, 9, 0, 0, 0, time.UTC), Caption: "Back then #sunrise", MediaIDs: []store.ID{old.ID}})
	}

	run := exec(w, store.StartImport{Meta: w.at(), UserID: a.ID, Source: store.SourceInstagram, File: "a.zip"})
	exec(w, store.ImportStep{Meta: w.at(), UserID: a.ID, RunID: run.ID, Total: 1, Next: 1, Posts: 1, Photos: 1, Done: true})
	export := exec(w, store.StartExport{Meta: w.at(), UserID: a.ID})
	exec(w, store.ExportDone{Meta: w.at(), UserID: a.ID, RunID: export.ID, File: "a.zip", Bytes: 1})

	// Sweeps, rebuilds, repairs.
	exec(w, store.CreateMedia{Meta: w.at(), OwnerID: b.ID, Hash: fmt.Sprintf("%064x", 999), Width: 10, Height: 10})
	if _, err := st.ExpireUnattached(ctx, w.now.Add(48*time.Hour), w.now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := st.BlobsGone(ctx, w.now, []string{fmt.Sprintf("%064x", 999)}); err != nil {
		t.Fatal(err)
	}
	entries, err := st.InboxFor(a.ID, 1000)
	if err != nil {
		t.Fatal(err)
	}
	exec(w, store.RebuildInbox{Meta: w.at(), User: a.ID, Entries: entries})
	for part := range parts {
		if _, err := store.Exec(ctx, st, store.RepairCounts{Meta: w.at(), On: store.PartitionShard(part)}); err != nil {
			t.Fatal(err)
		}
		if err := st.Fence(ctx, part); err != nil {
			t.Fatal(err)
		}
	}
	exec(w, store.RemoveInboxEntries{Meta: w.at(), Entries: [][2]store.ID{{a.ID, 12345}}})
	w.drain()
	w.check()
	pool.Stop()
	st.Close()

	// Every command type is in the logs.
	seen := map[string]bool{}
	for _, log := range rec.entries {
		for _, raw := range log {
			var e store.LogEntry
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatal(err)
			}
			for _, c := range e.Commands {
				seen[c.Type] = true
			}
		}
	}
	var missing []string
	for _, name := range store.CommandTypes() {
		if !seen[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		t.Errorf("never recorded, so never replayed: %s", strings.Join(missing, ", "))
	}

	// Each partition's log replays to the same bytes.
	orig, err := store.Open(dir, store.Options{CelebrityAt: 50}) // as configured: else opening configures again
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	fresh, err := store.Open(t.TempDir(), store.Options{Partitions: parts, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	for part := range parts {
		for i, e := range rec.entries[part] {
			if err := fresh.Replay(part, e); err != nil {
				t.Fatalf("partition %d entry %d: %v", part, i+1, err)
			}
		}
		want, wantSeq, err := orig.Fingerprint(part)
		if err != nil {
			t.Fatal(err)
		}
		got, gotSeq, err := fresh.Fingerprint(part)
		if err != nil {
			t.Fatal(err)
		}
		if got != want || gotSeq != wantSeq || wantSeq != uint64(len(rec.entries[part])) {
			t.Errorf("partition %d: replay %s at %d, original %s at %d (%d entries)", part, got[:12], gotSeq, want[:12], wantSeq, len(rec.entries[part]))
		}
	}
	if t.Failed() {
		return
	}
	names := slices.Collect(func(yield func(string) bool) {
		for n := range seen {
			if !yield(n) {
				return
			}
		}
	})
	t.Logf("%d command types replayed to identical partitions", len(names))
}

// waitFor polls cond for up to ten seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 1000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not met in 10 s")
}
