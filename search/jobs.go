package search

import (
	"context"
	"errors"
	"strings"

	"github.com/blevesearch/bleve/v2"

	"aperture/store"
)

// HandlePosts is the outbox batch handler for post changes: it indexes
// each post as it now is, or drops it once deleted, and each place the
// changes touched, in one bleve batch. It reads the store's current
// state, so jobs may run twice or out of order.
func (x *Index) HandlePosts(ctx context.Context, jobs []*store.Job) error {
	ids, places, err := changed(jobs)
	if err != nil {
		return err
	}
	b := x.idx.NewBatch()
	for _, id := range ids {
		p, author, err := x.st.PostForIndex(id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			b.Delete(postID(id))
		case err != nil:
			return err
		default:
			if err := b.Index(postID(p.ID), makePostDoc(p, author)); err != nil {
				return err
			}
		}
	}
	for _, id := range places {
		pl, err := x.st.Place(id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			b.Delete(placeID(id)) // its last post is gone
		case err != nil:
			return err
		default:
			if err := b.Index(placeID(id), makePlaceDoc(pl)); err != nil {
				return err
			}
		}
	}
	return x.idx.Batch(b)
}

// HandleUsers is the outbox batch handler for profile changes: it
// indexes the users and refreshes the public flag of their posts.
func (x *Index) HandleUsers(ctx context.Context, jobs []*store.Job) error {
	ids, _, err := changed(jobs)
	if err != nil {
		return err
	}
	b := x.idx.NewBatch()
	for _, id := range ids {
		if err := x.userInto(b, id); err != nil {
			return err
		}
	}
	return x.idx.Batch(b)
}

// changed returns the distinct IDs and places that index jobs name, in
// order.
func changed(jobs []*store.Job) (ids, places []store.ID, err error) {
	seen := map[store.ID]bool{}
	for _, j := range jobs {
		var job store.IndexJob
		if err := j.Decode(&job); err != nil {
			return nil, nil, err
		}
		if !seen[job.ID] {
			seen[job.ID] = true
			ids = append(ids, job.ID)
		}
		if job.Place != 0 && !seen[job.Place] {
			seen[job.Place] = true
			places = append(places, job.Place)
		}
	}
	return ids, places, nil
}

// userInto adds a user and their posts' visibility to a batch.
func (x *Index) userInto(b *bleve.Batch, id store.ID) error {
	u, err := x.st.User(id)
	if errors.Is(err, store.ErrNotFound) {
		b.Delete(userID(id))
		return nil
	}
	if err != nil {
		return err
	}
	if u.Suspended {
		// Gone from search, with every post (kept in the store until a
		// suspension is lifted or a deletion purges them).
		b.Delete(userID(id))
		ids, err := x.st.RecentPostIDs(u.ID, 1<<30)
		for _, pid := range ids {
			b.Delete(postID(pid))
		}
		return err
	}
	if err := b.Index(userID(u.ID), makeUserDoc(u)); err != nil {
		return err
	}
	ids, err := x.st.RecentPostIDs(u.ID, 1<<30)
	if err != nil {
		return err
	}
	for _, pid := range ids {
		if p, author, err := x.st.PostForIndex(pid); err == nil {
			if err := b.Index(postID(p.ID), makePostDoc(p, author)); err != nil {
				return err
			}
		}
	}
	return nil
}

func lower(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
