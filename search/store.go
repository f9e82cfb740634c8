package search

import (
	"time"

	"aperture/store"
)

// Store is what the index reads from the system of record: the documents
// it indexes, one at a time as jobs name them or all of them for a
// rebuild, and the map cells that size its ring searches. The store
// satisfies it.
type Store interface {
	// EachUser, EachPost and EachPlace call fn for every account, post
	// (with its author) and public place, in ID order.
	EachUser(fn func(u *store.User) error) error
	EachPost(fn func(p *store.Post, author *store.User) error) error
	EachPlace(fn func(pl *store.Place) error) error
	// User returns an account, or ErrNotFound.
	User(id store.ID) (*store.User, error)
	// PostForIndex returns a post and its author, or ErrNotFound once the
	// post is gone.
	PostForIndex(id store.ID) (*store.Post, *store.User, error)
	// PublicPlace returns a place as its public posts show it, or
	// ErrNotFound when it has none.
	PublicPlace(id store.ID) (*store.Place, error)
	// RecentPostIDs returns the IDs of an author's n newest posts.
	RecentPostIDs(author store.ID, n int) ([]store.ID, error)
	// GeoCells returns the map cells of precision p in a box.
	GeoCells(p int, minLat, minLon, maxLat, maxLon float64) ([]store.GeoCell, error)
	// OldestJob returns when the oldest queued job of the kinds was made.
	OldestJob(kinds ...string) (time.Time, error)
}
