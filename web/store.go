package web

import (
	"context"
	"time"

	"aperture/store"
)

// Store is what the HTTP layer needs from the system of record: a way to
// run commands (each on its partition) and the reads its pages and API
// make. The store satisfies it (each method is documented there); in a
// cluster a router may stand behind it.
type Store interface {
	store.Executor

	// Accounts, sessions, the graph.
	User(id store.ID) (*store.User, error)
	UserByUsername(name string) (*store.User, error)
	ViewProfile(viewer store.ID, name string) (*store.User, store.Relationship, error)
	UsersVisibleTo(viewer store.ID, ids []store.ID) ([]*store.User, error)
	Session(id store.ID) (*store.Session, error)
	Followers(viewer, u store.ID, p store.Page) (store.UserPage, error)
	Following(viewer, u store.ID, p store.Page) (store.UserPage, error)
	Suggestions(viewer store.ID, popular []store.ID, limit int) ([]store.Suggestion, error)
	FollowRequests(u store.ID, p store.Page) (store.UserPage, error)
	Usage(user store.ID) (int64, error)

	// Posts, feeds, activity.
	ViewPost(viewer, id store.ID) (*store.Post, error)
	Posts(viewer store.ID, ids []store.ID) (store.PostPage, error)
	UserPosts(viewer, user store.ID, p store.Page) (store.PostPage, error)
	Feed(user store.ID, p store.Page) (store.PostPage, error)
	Hydrate(viewer store.ID, posts []*store.Post, extra ...store.ID) (store.Hydrated, error)
	VisiblePublic(viewer store.ID, posts []*store.Post) ([]*store.Post, error)
	Comments(viewer, post store.ID, p store.Page) (store.CommentPage, error)
	Likers(viewer, post store.ID, p store.Page) (store.UserPage, error)
	ActivityPage(user store.ID, p store.Page) ([]store.ActivityGroup, store.ID, int, error)
	UnreadActivity(user store.ID) (int, error)
	BlobAccess(hash string, viewer store.ID) (store.BlobAccess, error)

	// Tags, places and the map.
	TagPosts(viewer store.ID, tag string, p store.Page) (store.PostPage, int, error)
	TagsWithPrefix(prefix string, limit int) ([]store.TagCount, error)
	PlacePosts(viewer, place store.ID, p store.Page) (*store.Place, store.PostPage, error)
	PublicPlace(id store.ID) (*store.Place, error)
	GeoCells(p int, minLat, minLon, maxLat, maxLon float64) ([]store.GeoCell, error)

	// Imports.
	ImportRuns(user store.ID, limit int) ([]*store.ImportRun, error)
	Relationship(viewer, other store.ID) (store.Relationship, error)
	ExportRuns(user store.ID, limit int) ([]*store.ExportRun, error)
	ActiveImports(ctx context.Context) ([]*store.ImportRun, error)

	// Notifications.
	Subscriptions(owner store.ID) ([]*store.Subscription, error)
	PushSubscriptions(user store.ID) ([]*store.PushSubscription, error)

	// Administration and operations.
	Settings() (store.Settings, error)
	UpdateSettings(admin store.ID, st store.Settings) (store.Settings, error)
	CreateInvite(admin store.ID, code string) (string, error)
	Invites() ([]string, error)
	Reports(openOnly bool, limit int) ([]*store.Report, error)
	EachUser(fn func(u *store.User) error) error
	DeadJobs(limit int) ([]*store.Job, error)
	OutboxStats() (store.OutboxStats, error)
	OldestJob(kinds ...string) (time.Time, error)
	Ping(ctx context.Context) error
}
