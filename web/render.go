package web

import (
	"context"
	"sync"
	"time"

	gojson "github.com/goccy/go-json"

	"aperture/store"
)

// AuthorView is the short form of a user shown beside content.
type AuthorView struct {
	ID          store.ID `json:"id"`
	Username    string   `json:"username"`
	DisplayName string   `json:"display_name"`
	Avatar      *string  `json:"avatar"`
}

// LocationView is a post's place.
type LocationView struct {
	Name string  `json:"name"`
	Lat  float64 `json:"lat"`
	Lon  float64 `json:"lon"`
}

// PostView is a post as the API returns it.
type PostView struct {
	ID           store.ID      `json:"id"`
	Author       AuthorView    `json:"author"`
	Caption      string        `json:"caption"`
	Tags         []string      `json:"tags"`
	Mentions     []string      `json:"mentions" doc:"Usernames mentioned in the caption"`
	Media        []MediaView   `json:"media"`
	Location     *LocationView `json:"location,omitempty"`
	LikeCount    int64         `json:"like_count"`
	CommentCount int64         `json:"comment_count"`
	LikedByMe    bool          `json:"liked_by_me"`
	CreatedAt    time.Time     `json:"created_at"`
	EditedAt     *time.Time    `json:"edited_at,omitempty"`

	raw []byte  // the encoded view, from the fragment cache
	key fragKey // what the view depends on, for pages' card cache
}

// MarshalJSON returns the cached encoding when there is one.
func (v PostView) MarshalJSON() ([]byte, error) {
	if v.raw != nil {
		return v.raw, nil
	}
	type plain PostView
	return gojson.Marshal(plain(v))
}

// fragments caches encodings of posts: JSON for the API, HTML cards for
// pages. The key holds everything an encoding depends on (fragKey), so an
// entry is never stale, only unused; the map is emptied when full.
type fragments[K comparable, V any] struct {
	mu  sync.RWMutex
	m   map[K]V
	max int
}

func newFragments[K comparable, V any](max int) *fragments[K, V] {
	return &fragments[K, V]{m: map[K]V{}, max: max}
}

func (f *fragments[K, V]) get(k K) V {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.m[k]
}

func (f *fragments[K, V]) put(k K, b V) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.m) >= f.max {
		clear(f.m)
	}
	f.m[k] = b
}

// fragKey is what a post's encoding depends on: the post's counters and
// edit time, the author's profile version and privacy, the viewer's like
// and ownership, and the hour that signed URLs are valid from.
type fragKey struct {
	post, likes, comments, edited, profile, hour int64
	liked, owner, private                        bool
}

func fragmentKey(p *store.Post, author *store.User, liked, owner bool, t time.Time) fragKey {
	return fragKey{post: int64(p.ID), likes: p.LikeCount, comments: p.CommentCount, edited: p.EditedAt.UnixMilli(),
		profile: author.UpdatedAt.UnixMilli(), hour: t.Unix() / 3600, liked: liked, owner: owner, private: author.Private}
}

// CommentView is a comment as the API returns it.
type CommentView struct {
	ID        store.ID   `json:"id"`
	PostID    store.ID   `json:"post_id"`
	Author    AuthorView `json:"author"`
	Text      string     `json:"text"`
	CreatedAt time.Time  `json:"created_at"`
}

// avatar returns the URL of a user's picture, signed for private
// accounts (pictures are shown to everyone, as on any profile).
func (s *Server) avatar(u *store.User, media map[store.ID]*store.Media, t time.Time) *string {
	m, ok := media[u.AvatarMediaID]
	if u.AvatarMediaID == 0 || !ok {
		return nil
	}
	url := s.urls.url(m.Hash, "thumb", !u.Private, t)
	return &url
}

func (s *Server) authorView(u *store.User, media map[store.ID]*store.Media, t time.Time) AuthorView {
	return AuthorView{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Avatar: s.avatar(u, media, t)}
}

// renderPosts turns posts into views with one batch read.
func (s *Server) renderPosts(ctx context.Context, viewer store.ID, posts []*store.Post) ([]PostView, error) {
	h, err := s.st.Hydrate(viewer, posts)
	if err != nil {
		return nil, err
	}
	return s.renderHydrated(ctx, viewer, posts, h), nil
}

// renderHydrated turns posts into views from what was read with them.
// For the API the views carry their cached JSON; pages, which read the
// fields, get full views.
func (s *Server) renderHydrated(ctx context.Context, viewer store.ID, posts []*store.Post, h store.Hydrated) []PostView {
	t := now(ctx)
	page := false
	if ri := infoFrom(ctx); ri != nil {
		page = ri.page
	}
	out := make([]PostView, 0, len(posts))
	for _, p := range posts {
		author, ok := h.Authors[p.AuthorID]
		if !ok {
			continue
		}
		key := fragmentKey(p, author, h.Liked[p.ID], viewer == author.ID, t)
		if page {
			v := s.postView(viewer, p, author, h, t)
			v.key = key
			out = append(out, v)
			continue
		}
		if raw := s.fragments.get(key); raw != nil {
			out = append(out, PostView{ID: p.ID, raw: raw})
			continue
		}
		v := s.postView(viewer, p, author, h, t)
		if raw, err := v.MarshalJSON(); err == nil {
			s.fragments.put(key, raw)
			v.raw = raw
		}
		out = append(out, v)
	}
	return out
}

// postView builds the view of p, whose author and media were read into h.
func (s *Server) postView(viewer store.ID, p *store.Post, author *store.User, h store.Hydrated, t time.Time) PostView {
	v := PostView{ID: p.ID, Author: s.authorView(author, h.Media, t), Caption: p.Caption, Tags: nonNil(p.Tags),
		Mentions: []string{}, Media: []MediaView{}, LikeCount: p.LikeCount, CommentCount: p.CommentCount,
		LikedByMe: h.Liked[p.ID], CreatedAt: p.CreatedAt}
	for _, id := range p.Mentions {
		if u, ok := h.Authors[id]; ok {
			v.Mentions = append(v.Mentions, u.Username)
		}
	}
	for _, mid := range p.MediaIDs {
		if m, ok := h.Media[mid]; ok {
			v.Media = append(v.Media, s.mediaView(m, !author.Private, viewer == author.ID, t))
		}
	}
	if p.Location != nil {
		v.Location = &LocationView{Name: p.Location.Name, Lat: p.Location.Lat, Lon: p.Location.Lon}
	}
	if !p.EditedAt.IsZero() {
		e := p.EditedAt
		v.EditedAt = &e
	}
	return v
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// renderUsers turns users into short views with their avatars.
func (s *Server) renderUsers(users []*store.User, t time.Time) ([]AuthorView, error) {
	ids := make([]store.ID, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	h, err := s.st.Hydrate(0, nil, ids...)
	if err != nil {
		return nil, err
	}
	out := make([]AuthorView, 0, len(users))
	for _, u := range users {
		out = append(out, s.authorView(u, h.Media, t))
	}
	return out, nil
}

// List is a page of items with the cursor of the next page.
type List[T any] struct {
	Items []T     `json:"items"`
	Next  *string `json:"next" doc:"Pass as ?before= for the next page; null at the end"`
}

func cursor(id store.ID) *string {
	if id == 0 {
		return nil
	}
	s := id.String()
	return &s
}

// PageParams is the common ?before=&limit= of lists (exported so that
// huma sees its fields when it is embedded).
type PageParams struct {
	Before string `query:"before" maxLength:"20" doc:"The next cursor of the previous page"`
	Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"20"`
}

func (p PageParams) page() (store.Page, error) {
	pg := store.Page{Limit: p.Limit}
	if p.Before != "" {
		id, err := store.ParseID(p.Before)
		if err != nil {
			return pg, store.Invalid("before", "before must be the next cursor of a previous page.")
		}
		pg.Before = id
	}
	return pg, nil
}
