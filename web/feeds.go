package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"aperture/store"
)

// Explorer ranks recent public posts for the explore page.
type Explorer interface {
	// Ranked returns the current ranking, best first.
	Ranked() []*store.Post
}

// ActivityView is one grouped activity entry.
type ActivityView struct {
	ID        store.ID     `json:"id"`
	Type      string       `json:"type" enum:"like,comment,follow,follow_request,mention"`
	Actors    []AuthorView `json:"actors" doc:"Up to three, newest first"`
	Count     int          `json:"count" doc:"How many actors in all: alice and count-1 others"`
	Post      *PostRef     `json:"post,omitempty"`
	CommentID *store.ID    `json:"comment_id,omitempty"`
	Unread    bool         `json:"unread"`
	CreatedAt time.Time    `json:"created_at"`
}

// PostRef is a post's ID and thumbnail, for activity entries.
type PostRef struct {
	ID    store.ID `json:"id"`
	Thumb string   `json:"thumb,omitempty"`
}

type activityOutput struct {
	Body struct {
		Items  []ActivityView `json:"items"`
		Next   *string        `json:"next"`
		Unread int            `json:"unread" doc:"Unread activities (at most 99)"`
	}
}

type tagInput struct {
	Tag string `path:"tag" maxLength:"100"`
	PageParams
}

type tagOutput struct {
	Body struct {
		Tag   string     `json:"tag"`
		Count int        `json:"count" doc:"Public posts with the tag (of accounts neither private nor suspended); where none is public, the posts with it that you may see"`
		Items []PostView `json:"items"`
		Next  *string    `json:"next"`
	}
}

type exploreInput struct {
	Cursor string `query:"cursor" maxLength:"6" doc:"The next cursor of the previous page"`
	Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"30"`
}

func (s *Server) registerFeeds(api huma.API) {
	tags := []string{"feeds"}
	huma.Register(api, s.op(huma.Operation{
		OperationID: "home-feed", Method: http.MethodGet, Path: "/api/v1/feed", Tags: tags,
		Summary: "Posts of the accounts you follow and your own, newest first", Security: bearer, Errors: []int{401, 422},
	}), s.homeFeed)

	huma.Register(api, s.op(huma.Operation{
		OperationID: "activity", Method: http.MethodGet, Path: "/api/v1/activity", Tags: tags,
		Summary: "Likes, comments, follows, requests and mentions, grouped per post and day", Security: bearer, Errors: []int{401, 422},
	}), s.activity)

	huma.Register(api, s.op(huma.Operation{
		OperationID: "activity-read", Method: http.MethodPost, Path: "/api/v1/activity/read", Tags: tags,
		Summary: "Mark all activity read", Security: bearer, DefaultStatus: http.StatusNoContent, Errors: []int{401},
	}), func(ctx context.Context, _ *struct{}) (*struct{}, error) {
		c, _ := viewer(ctx)
		return nil, s.markRead(ctx, c.UserID)
	})

	huma.Register(api, s.op(huma.Operation{
		OperationID: "tag-posts", Method: http.MethodGet, Path: "/api/v1/tags/{tag}/posts", Tags: tags,
		Summary: "Posts with a hashtag, newest first", Errors: []int{401, 422},
	}), s.tagPosts)

	huma.Register(api, s.op(huma.Operation{
		OperationID: "explore", Method: http.MethodGet, Path: "/api/v1/explore", Tags: tags,
		Summary:     "Popular recent public posts",
		Description: "Posts of the last 7 days from public accounts, ranked by (likes + 2·comments) / (age in hours + 2)^1.5, recomputed every minute.",
		Errors:      []int{401, 422},
	}), s.explorePosts)
}

func (s *Server) renderActivity(ctx context.Context, user store.ID, groups []store.ActivityGroup, next store.ID, unread int) (*activityOutput, error) {
	var actors, postIDs []store.ID
	for _, g := range groups {
		actors = append(actors, g.Actors...)
		if g.PostID != 0 {
			postIDs = append(postIDs, g.PostID)
		}
	}
	page, err := s.st.Posts(user, postIDs) // the posts the user may still see
	if err != nil {
		return nil, err
	}
	posts := page.Posts
	h, err := s.st.Hydrate(user, posts, actors...)
	if err != nil {
		return nil, err
	}
	thumbs := map[store.ID]string{}
	for _, p := range posts {
		if len(p.MediaIDs) > 0 {
			if m, ok := h.Media[p.MediaIDs[0]]; ok {
				author := h.Authors[p.AuthorID]
				thumbs[p.ID] = s.urls.url(m.Hash, "thumb", author != nil && !author.Private, now(ctx))
			}
		}
	}
	out := &activityOutput{}
	out.Body.Items, out.Body.Next, out.Body.Unread = []ActivityView{}, cursor(next), unread
	for _, g := range groups {
		v := ActivityView{ID: g.ID, Type: g.Type, Count: g.Count, Unread: g.Unread, CreatedAt: g.CreatedAt, Actors: []AuthorView{}}
		for _, a := range g.Actors {
			if u, ok := h.Authors[a]; ok {
				v.Actors = append(v.Actors, s.authorView(u, h.Media, now(ctx)))
			}
		}
		if g.PostID != 0 {
			thumb, ok := thumbs[g.PostID]
			if !ok {
				continue // the post is gone or no longer visible
			}
			v.Post = &PostRef{ID: g.PostID, Thumb: thumb}
		}
		if g.CommentID != 0 {
			id := g.CommentID
			v.CommentID = &id
		}
		out.Body.Items = append(out.Body.Items, v)
	}
	return out, nil
}

// homeFeed answers GET /api/v1/feed and the home page.
func (s *Server) homeFeed(ctx context.Context, in *PageParams) (*postsOutput, error) {
	c, _ := viewer(ctx)
	pg, err := in.page()
	if err != nil {
		return nil, err
	}
	page, err := s.st.Feed(c.UserID, pg)
	if err != nil {
		return nil, err
	}
	return s.postsPage(ctx, c.UserID, page)
}

// activity answers GET /api/v1/activity and the activity page.
func (s *Server) activity(ctx context.Context, in *PageParams) (*activityOutput, error) {
	c, _ := viewer(ctx)
	pg, err := in.page()
	if err != nil {
		return nil, err
	}
	groups, next, unread, err := s.st.ActivityPage(c.UserID, pg)
	if err != nil {
		return nil, err
	}
	return s.renderActivity(ctx, c.UserID, groups, next, unread)
}

// tagPosts answers GET /api/v1/tags/{tag}/posts and the tag page.
func (s *Server) tagPosts(ctx context.Context, in *tagInput) (*tagOutput, error) {
	c, _ := viewer(ctx)
	pg, err := in.page()
	if err != nil {
		return nil, err
	}
	page, total, err := s.st.TagPosts(c.UserID, in.Tag, pg)
	if err != nil {
		return nil, err
	}
	views := s.renderHydrated(ctx, c.UserID, page.Posts, page.Hydrated)
	out := &tagOutput{}
	out.Body.Tag, out.Body.Count, out.Body.Items, out.Body.Next = in.Tag, total, views, cursor(page.Next)
	return out, nil
}

// explorePosts answers GET /api/v1/explore and the explore page.
func (s *Server) explorePosts(ctx context.Context, in *exploreInput) (*postsOutput, error) {
	c, _ := viewer(ctx)
	start := 0
	if in.Cursor != "" {
		n, err := strconv.Atoi(in.Cursor)
		if err != nil || n < 0 {
			return nil, store.Invalid("cursor", "cursor must be the next cursor of a previous page.")
		}
		start = n
	}
	var ranked []*store.Post
	if s.explore != nil {
		ranked = s.explore.Ranked()
	}
	visible, err := s.st.VisiblePublic(c.UserID, ranked)
	if err != nil {
		return nil, err
	}
	limit := in.Limit
	if limit <= 0 {
		limit = 30
	}
	var page []*store.Post
	var next *string
	if start < len(visible) {
		end := min(len(visible), start+limit)
		page = visible[start:end]
		if end < len(visible) {
			n := strconv.Itoa(end)
			next = &n
		}
	}
	views, err := s.renderPosts(ctx, c.UserID, page)
	if err != nil {
		return nil, err
	}
	return &postsOutput{Body: List[PostView]{Items: views, Next: next}}, nil
}

// markRead marks the account's activity read and tells its other open
// pages, whose badges then clear.
func (s *Server) markRead(ctx context.Context, user store.ID) error {
	if _, err := store.Exec(ctx, s.st, store.MarkActivityRead{Meta: store.At(now(ctx)), UserID: user}); err != nil {
		return err
	}
	if s.hub != nil {
		s.hub.Publish(user, "activity", `{"type":"read","unread":0}`)
	}
	return nil
}
