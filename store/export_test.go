package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Settle runs, as the feed's worker pool would, the outbox jobs that
// carry the graph's changes to the other side of each edge (and the
// backfills, unfans and activity they queue), until none is left. Store
// tests call it where they need both sides of an edge in step; other
// jobs stay queued.
func Settle(tb testing.TB, s *Store) {
	tb.Helper()
	ctx := context.Background()
	for round := 0; ; round++ {
		if round > 100 {
			tb.Fatal("graph jobs keep coming after 100 rounds")
		}
		ran := 0
		for part := range s.Partitions() {
			jobs, err := s.DueJobs(part, time.Now().Add(time.Hour), 10_000, nil)
			if err != nil {
				tb.Fatal(err)
			}
			var done []ID
			for _, j := range jobs {
				if err := settleJob(ctx, s, j); err == errNotGraph {
					continue
				} else if err != nil {
					tb.Fatalf("job %s: %v", j.Kind, err)
				}
				done = append(done, j.ID)
			}
			if len(done) > 0 {
				if _, err := Exec(ctx, s, JobsDone{Meta: At(time.Now()), JobIDs: done}); err != nil {
					tb.Fatal(err)
				}
				ran += len(done)
			}
		}
		if ran == 0 {
			return
		}
	}
}

var errNotGraph = Errorf(ErrInvalid, "not a graph job")

func settleJob(ctx context.Context, s *Store, j *Job) error {
	switch j.Kind {
	case JobFollowSync:
		return relayed[SyncFollow](ctx, s, j)
	case JobFollowAnswer:
		return relayed[AnswerFollow](ctx, s, j)
	case JobFollowDrop:
		return relayed[DropFollow](ctx, s, j)
	case JobBlockSync:
		return relayed[SyncBlock](ctx, s, j)
	case JobStanding:
		return relayed[SetStanding](ctx, s, j)
	case JobModerate:
		var r Report
		if err := j.Decode(&r); err != nil {
			return err
		}
		if r.PostID != 0 {
			_, err := Exec(ctx, s, DeletePost{Meta: At(r.ResolvedAt), ActorID: r.ResolvedBy, PostID: r.PostID})
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			return err
		}
		_, err := Exec(ctx, s, SetSuspended{Meta: At(r.ResolvedAt), AdminID: r.ResolvedBy, UserID: r.UserID, Suspended: true})
		return err
	case JobActivity:
		var a Activity
		if err := j.Decode(&a); err != nil {
			return err
		}
		_, err := Exec(ctx, s, AddActivity{Meta: At(a.CreatedAt), Activity: a, Source: j.ID})
		return err
	case JobBackfill:
		var p PairJob
		if err := j.Decode(&p); err != nil {
			return err
		}
		ids, err := s.RecentPostIDs(p.Author, 50)
		if err != nil || len(ids) == 0 {
			return err
		}
		_, err = Exec(ctx, s, Backfill{Meta: At(time.Now()), User: p.User, Author: p.Author, Posts: ids})
		return err
	case JobUnfan:
		var p PairJob
		if err := j.Decode(&p); err != nil {
			return err
		}
		_, err := Exec(ctx, s, UnfanAuthor{Meta: At(time.Now()), User: p.User, Author: p.Author})
		return err
	}
	return errNotGraph
}

func relayed[C interface{ Command[struct{}] }](ctx context.Context, s *Store, j *Job) error {
	var c C
	if err := j.Decode(&c); err != nil {
		return err
	}
	_, err := Exec(ctx, s, c)
	return err
}
