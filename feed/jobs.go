package feed

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"aperture/store"
)

// backfillPosts is how many of a followee's recent posts a follow brings
// into the follower's feed.
const backfillPosts = 50

// fanout puts new posts into every follower's inbox. The fan-outs due
// together run together, in rounds: each round takes every post's next
// followers up to a common follower ID (the lowest of the posts' chunk
// ends) and writes them in one transaction in key order, so an inbox page
// is rewritten once per round however many of the posts reach it. Under a
// stream of posts that is what keeps inserts cheap; a lone post goes
// FanoutBatch followers per transaction. The more posts a round carries,
// the fewer followers of each it takes (about ten times FanoutBatch
// entries in all), so that a burst of fan-outs never makes one long
// transaction that people's own writes would queue behind. A crash
// resumes from the start: inbox inserts are idempotent.
func (p *Pool) fanout(ctx context.Context, jobs []*store.Job) error {
	type run struct {
		job  store.FanoutJob
		next []store.ID // followers read but not yet written, ascending
		more bool       // followers after next remain
	}
	runs := make([]*run, 0, len(jobs))
	chunk := min(p.cfg.FanoutBatch, max(10*p.cfg.FanoutBatch/len(jobs), 16))
	for _, j := range jobs {
		r := &run{more: true}
		if err := j.Decode(&r.job); err != nil {
			return err
		}
		runs = append(runs, r)
	}
	authors := make(map[store.ID]store.ID, len(runs)) // post → author, for live events
	for _, r := range runs {
		authors[r.job.Post] = r.job.Author
	}
	for {
		bound, pending := store.ID(math.MaxUint64), false
		for _, r := range runs {
			if len(r.next) == 0 && r.more {
				ids, more, err := p.st.FollowerBatch(r.job.Author, r.job.After, chunk)
				if err != nil {
					return err
				}
				r.next, r.more = ids, more
				if len(ids) > 0 {
					r.job.After = ids[len(ids)-1]
				}
			}
			if r.more && len(r.next) > 0 {
				bound = min(bound, r.next[len(r.next)-1])
			}
			pending = pending || len(r.next) > 0
		}
		if !pending {
			return nil
		}
		var entries []store.InboxEntry
		for _, r := range runs {
			n := len(r.next)
			if bound != math.MaxUint64 {
				n, _ = slices.BinarySearch(r.next, bound+1)
			}
			for _, u := range r.next[:n] {
				entries = append(entries, store.InboxEntry{User: u, Post: r.job.Post, Author: r.job.Author})
			}
			r.next = r.next[n:]
		}
		slices.SortFunc(entries, func(a, b store.InboxEntry) int {
			return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.Post, b.Post))
		})
		for _, part := range p.byPartition(entries) {
			n, err := store.Exec(ctx, p.st, store.Fanout{Meta: store.At(time.Now()), Entries: part})
			if err != nil {
				return err
			}
			p.inserts.Add(float64(n))
		}
		if p.Hub != nil {
			for _, e := range entries {
				p.Hub.Publish(e.User, "post", fmt.Sprintf(`{"post":"%s","author":"%s"}`, e.Post, authors[e.Post]))
			}
		}
	}
}

// postDeleted takes a deleted post out of every follower's inbox, a batch
// of followers per transaction, and drops its likes and comments. It
// first waits for the post's fan-out and for backfills of its author
// queued before it: they may still be putting the post into feeds.
func (p *Pool) postDeleted(ctx context.Context, j *store.Job) error {
	var job store.FanoutJob
	if err := j.Decode(&job); err != nil {
		return err
	}
	if pending, err := p.st.InsertsPending(j.ID, job.Post, job.Author); err != nil || pending {
		if err == nil {
			err = notYet{why: "waiting for the post's fan-out to finish", after: 200 * time.Millisecond}
		}
		return err
	}
	after := store.ID(0)
	for {
		ids, more, err := p.st.FollowerBatch(job.Author, after, p.cfg.FanoutBatch)
		if err != nil {
			return err
		}
		entries := make([]store.InboxEntry, len(ids))
		for i, u := range ids {
			entries[i] = store.InboxEntry{User: u, Post: job.Post}
		}
		for _, part := range p.byPartition(entries) {
			if _, err := store.Exec(ctx, p.st, store.Unfan{Meta: store.At(time.Now()), Entries: part}); err != nil {
				return err
			}
		}
		if len(ids) > 0 {
			after = ids[len(ids)-1]
		}
		if !more {
			break
		}
	}
	for {
		n, err := store.Exec(ctx, p.st, store.PurgePost{Meta: store.At(time.Now()), PostID: job.Post, Limit: 1000})
		if err != nil || n == 0 {
			return err
		}
	}
}

// byPartition splits inbox entries (sorted by user) into one list per
// partition of their users, each still sorted.
func (p *Pool) byPartition(entries []store.InboxEntry) [][]store.InboxEntry {
	if p.st.Partitions() == 1 {
		if len(entries) == 0 {
			return nil
		}
		return [][]store.InboxEntry{entries}
	}
	parts := make([][]store.InboxEntry, p.st.Partitions())
	for _, e := range entries {
		i := p.st.PartitionOf(e.User.Shard())
		parts[i] = append(parts[i], e)
	}
	return slices.DeleteFunc(parts, func(es []store.InboxEntry) bool { return len(es) == 0 })
}

// backfills runs a batch of backfills at once (see relay).
func (p *Pool) backfills(ctx context.Context, jobs []*store.Job) error {
	return concurrently(jobs, func(j *store.Job) error { return p.backfill(ctx, j) })
}

// activities records a batch of activities at once (see relay).
func (p *Pool) activities(ctx context.Context, jobs []*store.Job) error {
	return concurrently(jobs, func(j *store.Job) error { return p.activity(ctx, j) })
}

// backfill brings a followee's recent posts into a new follower's feed.
func (p *Pool) backfill(ctx context.Context, j *store.Job) error {
	var job store.PairJob
	if err := j.Decode(&job); err != nil {
		return err
	}
	ids, err := p.st.RecentPostIDs(job.Author, backfillPosts)
	if err != nil || len(ids) == 0 {
		return err
	}
	_, err = store.Exec(ctx, p.st, store.Backfill{Meta: store.At(time.Now()), User: job.User, Author: job.Author, Posts: ids})
	return err
}

// unfan takes an unfollowed (or blocked) author's posts out of a feed.
func (p *Pool) unfan(ctx context.Context, j *store.Job) error {
	var job store.PairJob
	if err := j.Decode(&job); err != nil {
		return err
	}
	_, err := store.Exec(ctx, p.st, store.UnfanAuthor{Meta: store.At(time.Now()), User: job.User, Author: job.Author})
	return err
}

// purgeUser deletes a deleted account's posts 200 at a time (each
// deletion queues its own clean-up), then its comments and likes in
// every partition.
func (p *Pool) purgeUser(ctx context.Context, j *store.Job) error {
	var job store.IndexJob
	if err := j.Decode(&job); err != nil {
		return err
	}
	for ctx.Err() == nil {
		done, err := store.Exec(ctx, p.st, store.PurgeUser{Meta: store.At(time.Now()), UserID: job.ID, Limit: 200})
		if err != nil {
			return err
		}
		p.Wake()
		if done {
			break
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	for part := range p.st.Partitions() {
		if _, err := store.Exec(ctx, p.st, store.PurgeContent{Meta: store.At(time.Now()), On: store.PartitionShard(part), UserID: job.ID}); err != nil {
			return err
		}
	}
	return nil
}

// activity records an activity in its recipient's list, naming the job
// as its source, so running the job twice records it once.
func (p *Pool) activity(ctx context.Context, j *store.Job) error {
	var a store.Activity
	if err := j.Decode(&a); err != nil {
		return err
	}
	if _, err := store.Exec(ctx, p.st, store.AddActivity{Meta: store.At(a.CreatedAt), Activity: a, Source: j.ID}); err != nil {
		return err
	}
	if p.Hub != nil {
		if n, err := p.st.UnreadActivity(a.UserID); err == nil {
			p.Hub.Publish(a.UserID, "activity", fmt.Sprintf(`{"type":"%s","unread":%d}`, a.Type, n))
		}
	}
	return nil
}

// relay returns the batch handler of jobs whose payloads are commands for
// other partitions (the other side of edges): it sends the commands as
// the jobs carry them, stamped with the time of the change that queued
// them, all at once, so that each partition's committer takes many of
// them in one transaction. A failure retries the batch; the commands are
// idempotent.
func relay[C store.Command[R], R any](st Store) BatchHandler {
	return func(ctx context.Context, jobs []*store.Job) error {
		return concurrently(jobs, func(j *store.Job) error {
			var c C
			if err := j.Decode(&c); err != nil {
				return err
			}
			_, err := store.Exec(ctx, st, c)
			return err
		})
	}
}

// concurrently runs fn for every job, up to 64 at a time, and returns the
// first error.
func concurrently(jobs []*store.Job, fn func(j *store.Job) error) error {
	sem := make(chan struct{}, 64)
	errs := make(chan error, len(jobs))
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs <- fn(j)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// moderate carries out a report resolved with "remove": the reported
// post is deleted, or the reported account suspended (never an
// administrator's).
func (p *Pool) moderate(ctx context.Context, j *store.Job) error {
	var r store.Report
	if err := j.Decode(&r); err != nil {
		return err
	}
	at := store.At(r.ResolvedAt) // as of the resolution
	if r.PostID != 0 {
		_, err := store.Exec(ctx, p.st, store.DeletePost{Meta: at, ActorID: r.ResolvedBy, PostID: r.PostID})
		if errors.Is(err, store.ErrNotFound) {
			return nil // gone already
		}
		return err
	}
	u, err := p.st.User(r.UserID)
	if err != nil || u.Admin || u.Suspended {
		return nil
	}
	_, err = store.Exec(ctx, p.st, store.SetSuspended{Meta: at, AdminID: r.ResolvedBy, UserID: r.UserID, Suspended: true})
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrForbidden) {
		p.log.Warn("report not carried out", "report", r.ID, "error", err)
		return nil
	}
	return err
}
