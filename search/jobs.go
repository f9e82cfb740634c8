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
	if err := x.placesInto(b, places); err != nil {
		return err
	}
	return x.idx.Batch(b)
}

// placesInto adds places as their public posts show them to a batch, and
// drops those without public posts (only private accounts use them, or
// none any more), so that search never finds them.
func (x *Index) placesInto(b *bleve.Batch, places []store.ID) error {
	for _, id := range places {
		pl, err := x.st.PublicPlace(id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			b.Delete(placeID(id))
		case err != nil:
			return err
		default:
			if err := b.Index(placeID(id), makePlaceDoc(pl)); err != nil {
				return err
			}
		}
	}
	return nil
}

// HandleUsers is the outbox batch handler for profile changes: it
// indexes the users and refreshes the public flag of their posts and the
// places they are at (going private or being suspended can take a
// place's last public post away).
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

// userInto adds a user, their posts' visibility and their places to a
// batch.
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
	} else if err := b.Index(userID(u.ID), makeUserDoc(u)); err != nil {
		return err
	}
	ids, err := x.st.RecentPostIDs(u.ID, 1<<30)
	if err != nil {
		return err
	}
	var places []store.ID
	seen := map[store.ID]bool{}
	for _, pid := range ids {
		p, author, err := x.st.PostForIndex(pid)
		if err != nil {
			continue
		}
		if u.Suspended {
			b.Delete(postID(pid))
		} else if err := b.Index(postID(p.ID), makePostDoc(p, author)); err != nil {
			return err
		}
		if p.Location != nil {
			if pl := store.PlaceID(*p.Location); !seen[pl] {
				seen[pl] = true
				places = append(places, pl)
			}
		}
	}
	return x.placesInto(b, places)
}

func lower(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
