package feed

import (
	"time"

	"aperture/store"
)

// Store is what the background work needs from the system of record: a
// way to run commands (each on its partition) and the reads its jobs
// make. The store satisfies it; in a cluster a router may stand behind
// it, and a unit test may fake it.
type Store interface {
	store.Executor
	// Partitions returns how many partitions there are, and PartitionOf
	// the one that holds a shard.
	Partitions() int
	PartitionOf(shard uint16) int
	// DueJobs returns up to limit due jobs of one partition's outbox,
	// oldest first, skipping those in skip.
	DueJobs(part int, now time.Time, limit int, skip map[store.ID]bool) ([]*store.Job, error)
	// OutboxStats returns the outboxes' depth, oldest job and dead letters.
	OutboxStats() (store.OutboxStats, error)
	// InsertsPending reports whether a job queued before job may still put
	// post into home feeds.
	InsertsPending(job, post, author store.ID) (bool, error)
	// FollowerBatch returns up to n followers of user after the cursor,
	// and whether more follow.
	FollowerBatch(user, after store.ID, n int) ([]store.ID, bool, error)
	// RecentPostIDs returns the IDs of an author's n newest posts.
	RecentPostIDs(author store.ID, n int) ([]store.ID, error)
	// RecentPublicPosts returns up to limit public posts newer than since.
	RecentPublicPosts(since time.Time, limit int) ([]*store.Post, error)
	// PostForIndex returns a post and its author, or ErrNotFound.
	PostForIndex(id store.ID) (*store.Post, *store.User, error)
	// User returns an account, or ErrNotFound.
	User(id store.ID) (*store.User, error)
	// UnreadActivity returns how many of a user's activities are unread.
	UnreadActivity(user store.ID) (int, error)
	// Subscription returns a webhook subscription, or ErrNotFound.
	Subscription(id store.ID) (*store.Subscription, error)
	// PushSubscriptionByID returns a browser's push subscription, or
	// ErrNotFound.
	PushSubscriptionByID(id store.ID) (*store.PushSubscription, error)
}
