package search

import (
	"context"
	"errors"
	"strings"

	"aperture/store"
)

// HandlePost is the outbox handler for post changes: it indexes the post
// as it now is, or drops it once deleted, and updates its place.
// Re-running it gives the same index, so it is safe to retry.
func (x *Index) HandlePost(ctx context.Context, j *store.Job) error {
	var job store.IndexJob
	if err := j.Decode(&job); err != nil {
		return err
	}
	p, author, err := x.st.PostForIndex(job.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if err := x.idx.Delete(postID(job.ID)); err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		if err := x.idx.Index(postID(p.ID), makePostDoc(p, author)); err != nil {
			return err
		}
	}
	return x.syncPlaces()
}

// syncPlaces is cheap enough to run per change only while places are few;
// it indexes the places the store has and drops those it no longer has.
func (x *Index) syncPlaces() error {
	b := x.idx.NewBatch()
	err := x.st.EachPlace(func(pl *store.Place) error { return b.Index(placeID(pl.ID), makePlaceDoc(pl)) })
	if err != nil {
		return err
	}
	return x.idx.Batch(b)
}

// HandleUser is the outbox handler for profile changes: it indexes the
// user and refreshes the public flag of their posts.
func (x *Index) HandleUser(ctx context.Context, j *store.Job) error {
	var job store.IndexJob
	if err := j.Decode(&job); err != nil {
		return err
	}
	u, err := x.st.User(job.ID)
	if errors.Is(err, store.ErrNotFound) {
		return x.idx.Delete(userID(job.ID))
	}
	if err != nil {
		return err
	}
	if err := x.idx.Index(userID(u.ID), makeUserDoc(u)); err != nil {
		return err
	}
	ids, err := x.st.RecentPostIDs(u.ID, 1<<30)
	if err != nil {
		return err
	}
	b := x.idx.NewBatch()
	for _, id := range ids {
		if p, author, err := x.st.PostForIndex(id); err == nil {
			if err := b.Index(postID(p.ID), makePostDoc(p, author)); err != nil {
				return err
			}
		}
	}
	return x.idx.Batch(b)
}

func lower(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
