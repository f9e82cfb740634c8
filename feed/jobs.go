package feed

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
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
				entries = append(entries, store.InboxEntry{User: u, Post: r.job.Post})
			}
			r.next = r.next[n:]
		}
		slices.SortFunc(entries, func(a, b store.InboxEntry) int {
			return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.Post, b.Post))
		})
		n, err := store.Exec(ctx, p.st, store.Fanout{Meta: store.At(time.Now()), Entries: entries})
		if err != nil {
			return err
		}
		p.inserts.Add(float64(n))
		if p.Hub != nil {
			for _, e := range entries {
				p.Hub.Publish(e.User, "post", fmt.Sprintf(`{"post":"%s","author":"%s"}`, e.Post, authors[e.Post]))
			}
		}
	}
}

// postDeleted takes a deleted post out of every follower's inbox, a batch
// of followers per transaction, and drops its likes and comments.
func (p *Pool) postDeleted(ctx context.Context, j *store.Job) error {
	var job store.FanoutJob
	if err := j.Decode(&job); err != nil {
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
		if _, err := store.Exec(ctx, p.st, store.Unfan{Meta: store.At(time.Now()), Entries: entries}); err != nil {
			return err
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
// The inbox keeps at most its cap of recent posts, so the author's newest
// posts up to that cap are all that can be there.
func (p *Pool) unfan(ctx context.Context, j *store.Job) error {
	var job store.PairJob
	if err := j.Decode(&job); err != nil {
		return err
	}
	if rel, err := p.st.Relationship(job.User, job.Author); err == nil && rel.Following {
		return nil // followed again meanwhile
	}
	ids, err := p.st.RecentPostIDs(job.Author, p.st.Options().InboxCap)
	if err != nil || len(ids) == 0 {
		return err
	}
	entries := make([]store.InboxEntry, len(ids))
	for i, post := range ids {
		entries[i] = store.InboxEntry{User: job.User, Post: post}
	}
	_, err = store.Exec(ctx, p.st, store.Unfan{Meta: store.At(time.Now()), Entries: entries})
	return err
}

// purgeUser deletes a deleted account's posts 200 at a time (each
// deletion queues its own clean-up), then its comments and likes.
func (p *Pool) purgeUser(ctx context.Context, j *store.Job) error {
	var job store.IndexJob
	if err := j.Decode(&job); err != nil {
		return err
	}
	for ctx.Err() == nil {
		done, err := store.Exec(ctx, p.st, store.PurgeUser{Meta: store.At(time.Now()), UserID: job.ID, Limit: 200})
		if err != nil || done {
			return err
		}
		p.Wake()
	}
	return ctx.Err()
}

// activity records an activity in its recipient's list under the job's
// ID, so running the job twice records it once.
func (p *Pool) activity(ctx context.Context, j *store.Job) error {
	var a store.Activity
	if err := j.Decode(&a); err != nil {
		return err
	}
	a.ID = j.ID
	if _, err := store.Exec(ctx, p.st, store.AddActivity{Meta: store.At(a.CreatedAt), Activity: a}); err != nil {
		return err
	}
	if p.Hub != nil {
		if n, err := p.st.UnreadActivity(a.UserID); err == nil {
			p.Hub.Publish(a.UserID, "activity", fmt.Sprintf(`{"type":"%s","unread":%d}`, a.Type, n))
		}
	}
	return nil
}
