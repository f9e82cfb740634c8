package store

import (
	"bytes"
	"cmp"
	"context"
	"math"
	"slices"
	"strings"
	"time"
)

// Post is a shared photo or carousel.
type Post struct {
	ID           ID        `json:"id"`
	AuthorID     ID        `json:"author_id"`
	Caption      string    `json:"caption"`
	Tags         []string  `json:"tags"`
	Mentions     []ID      `json:"mentions"`
	MediaIDs     []ID      `json:"media_ids"`
	Location     *Location `json:"location,omitempty"`
	LikeCount    int64     `json:"like_count"`
	CommentCount int64     `json:"comment_count"`
	CreatedAt    time.Time `json:"created_at"`
	EditedAt     time.Time `json:"edited_at,omitzero"`
}

// Location is a named place.
type Location struct {
	Name string  `json:"name"`
	Lat  float64 `json:"lat"`
	Lon  float64 `json:"lon"`
}

// Jobs posts write to the outbox.
const (
	JobFanout      = "fanout"       // FanoutJob: put a post in followers' inboxes
	JobPostDeleted = "post_deleted" // FanoutJob: take a deleted post out of inboxes, drop its likes and comments
)

// FanoutJob is the payload of fan-out and clean-up jobs. After is the
// follower cursor a resumed job continues from.
type FanoutJob struct {
	Post   ID `json:"post"`
	Author ID `json:"author"`
	After  ID `json:"after,omitempty"`
}

// CreatePost shares 1–10 of the author's unattached photos. Its result is
// the *Post. It fails with ErrInvalid for a bad caption, location or media
// list, ErrForbidden for media that is not the author's or is already in
// a post.
type CreatePost struct {
	Meta
	AuthorID ID        `json:"author_id"`
	Caption  string    `json:"caption"`
	MediaIDs []ID      `json:"media_ids"`
	Location *Location `json:"location,omitempty"`
	// NoFanout skips the fan-out job: bulk loads build inboxes afterwards
	// with RebuildInbox.
	NoFanout bool `json:"no_fanout,omitempty"`
	// Resolved before submission: the accounts the caption mentions, and
	// whether any webhook subscription exists.
	Mentioned map[string]ID `json:"mentioned,omitempty"`
	Notify    bool          `json:"notify,omitempty"`
}

// Shard returns the author's shard.
func (c CreatePost) Shard() uint16 { return c.AuthorID.Shard() }

func (c CreatePost) prepare(_ context.Context, s *Store) (Command[*Post], func(*Post, error) (*Post, error), error) {
	var err error
	if c.Mentioned, err = s.mentionable(c.AuthorID, c.Caption); err != nil {
		return nil, nil, err
	}
	c.Notify, err = s.anySubscription()
	return c, nil, err
}

func (c CreatePost) apply(tx *Tx) (*Post, error) { return c.create(tx, nil) }

// create makes the post, with a fresh ID at the command's time, or with
// the ID and time that at gives (an imported post keeps its own).
func (c CreatePost) create(tx *Tx, at func() (ID, time.Time, error)) (*Post, error) {
	author, err := tx.user(c.AuthorID)
	if err != nil {
		return nil, err
	}
	caption, err := checkText("caption", c.Caption, MaxCaption)
	if err != nil {
		return nil, err
	}
	tags, names := ParseCaption(caption)
	if len(tags) > MaxTags {
		return nil, Invalid("caption", "A caption can have at most %d hashtags.", MaxTags)
	}
	if len(c.MediaIDs) < 1 || len(c.MediaIDs) > MaxMedia {
		return nil, Invalid("media_ids", "A post has 1 to %d photos.", MaxMedia)
	}
	loc, err := checkLocation(c.Location)
	if err != nil {
		return nil, err
	}
	created := tx.now
	var id ID
	if at == nil {
		id, err = tx.NewID(c.Shard())
	} else {
		id, created, err = at()
	}
	if err != nil {
		return nil, err
	}
	for i, mid := range c.MediaIDs {
		if containsID(c.MediaIDs[:i], mid) {
			return nil, Invalid("media_ids", "The same photo is listed twice.")
		}
		m := new(Media)
		if !tx.local(mid) || tx.get(bMedia, mid.key(), m, "That photo") != nil || m.OwnerID != c.AuthorID {
			return nil, Errorf(ErrForbidden, "Photo %s is not one of your uploads.", mid)
		}
		if m.PostID != 0 || author.AvatarMediaID == mid {
			return nil, Errorf(ErrForbidden, "Photo %s is already in a post or is your profile picture.", mid)
		}
		m.PostID = id
		if err := tx.put(bMedia, mid.key(), m); err != nil {
			return nil, err
		}
		if err := tx.unmark(bMediaAge, ageKey(m.CreatedAt, mid)); err != nil {
			return nil, err
		}
	}
	p := &Post{ID: id, AuthorID: c.AuthorID, Caption: caption, Tags: tags, Mentions: mentions(names, c.Mentioned),
		MediaIDs: c.MediaIDs, Location: loc, CreatedAt: created}
	if err := tx.put(bPosts, id.key(), p); err != nil {
		return nil, err
	}
	if err := tx.mark(bUserPosts, pair(c.AuthorID, id), nil); err != nil {
		return nil, err
	}
	if err := tx.indexTags(p, tags, nil); err != nil {
		return nil, err
	}
	if err := tx.placeAdd(p); err != nil {
		return nil, err
	}
	if publicAuthor(author) {
		if err := tx.publicCount(p, 1); err != nil {
			return nil, err
		}
	}
	if err := tx.indexPost(p); err != nil {
		return nil, err
	}
	if err := tx.count(c.AuthorID, func(c *Counts) { c.Posts++ }); err != nil {
		return nil, err
	}
	// The author's own feed at once; followers through the outbox, unless
	// the author is read at feed time.
	if err := tx.inboxAdd(c.AuthorID, id, c.AuthorID); err != nil {
		return nil, err
	}
	// Followers are asked for, not counted: suspended ones are not
	// counted, and their feeds are whole again when it is lifted.
	if !c.NoFanout && int(author.Counts.Followers) < tx.config().CelebrityAt && tx.hasPrefix(bFollowers, c.AuthorID) {
		if err := tx.enqueue(JobFanout, FanoutJob{Post: id, Author: c.AuthorID}); err != nil {
			return nil, err
		}
	}
	for _, m := range p.Mentions {
		if err := tx.activity(m, ActMention, c.AuthorID, id, 0); err != nil {
			return nil, err
		}
	}
	if c.Notify {
		if err := tx.enqueue(JobWebhookMatch, IndexJob{ID: id}); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func checkLocation(l *Location) (*Location, error) {
	if l == nil {
		return nil, nil
	}
	name := strings.TrimSpace(l.Name)
	switch {
	case name == "" || len([]rune(name)) > 100:
		return nil, Invalid("location.name", "Name the place in 1 to 100 characters.")
	case math.IsNaN(l.Lat) || l.Lat < -90 || l.Lat > 90:
		return nil, Invalid("location.lat", "Latitude must be between -90 and 90.")
	case math.IsNaN(l.Lon) || l.Lon < -180 || l.Lon > 180:
		return nil, Invalid("location.lon", "Longitude must be between -180 and 180.")
	}
	return &Location{Name: name, Lat: l.Lat, Lon: l.Lon}, nil
}

func tagKey(tag string, post ID) []byte {
	k := append([]byte(tag), 0)
	return append(k, post.key()...)
}

// indexTags moves a post from the old tags' indexes to the new ones'.
func (t *Tx) indexTags(p *Post, tags, old []string) error {
	for _, tag := range old {
		if err := t.unmark(bTags, tagKey(tag, p.ID)); err != nil {
			return err
		}
		if _, err := t.addCounter(bTagCounts, []byte(tag), -1); err != nil {
			return err
		}
	}
	for _, tag := range tags {
		if err := t.mark(bTags, tagKey(tag, p.ID), nil); err != nil {
			return err
		}
		if _, err := t.addCounter(bTagCounts, []byte(tag), 1); err != nil {
			return err
		}
	}
	return nil
}

// EditCaption replaces a post's caption; tags and mentions are parsed
// again. Only the author may. Errors as CreatePost, and ErrNotFound.
type EditCaption struct {
	Meta
	ActorID ID     `json:"actor_id"`
	PostID  ID     `json:"post_id"`
	Caption string `json:"caption"`
	// Mentioned is resolved before submission (see CreatePost).
	Mentioned map[string]ID `json:"mentioned,omitempty"`
}

// Shard returns the post's shard.
func (c EditCaption) Shard() uint16 { return c.PostID.Shard() }

func (c EditCaption) prepare(_ context.Context, s *Store) (Command[*Post], func(*Post, error) (*Post, error), error) {
	var err error
	c.Mentioned, err = s.mentionable(c.ActorID, c.Caption)
	return c, nil, err
}

func (c EditCaption) apply(tx *Tx) (*Post, error) {
	p, err := tx.post(c.PostID)
	if err != nil {
		return nil, err
	}
	if p.AuthorID != c.ActorID {
		return nil, Errorf(ErrForbidden, "Only the author can edit this caption.")
	}
	caption, err := checkText("caption", c.Caption, MaxCaption)
	if err != nil {
		return nil, err
	}
	tags, names := ParseCaption(caption)
	if len(tags) > MaxTags {
		return nil, Invalid("caption", "A caption can have at most %d hashtags.", MaxTags)
	}
	if err := tx.indexTags(p, tags, p.Tags); err != nil {
		return nil, err
	}
	if author, err := tx.user(p.AuthorID); err == nil && publicAuthor(author) {
		if err := tx.publicTags(p.Tags, -1); err != nil {
			return nil, err
		}
		if err := tx.publicTags(tags, 1); err != nil {
			return nil, err
		}
	}
	mentioned := mentions(names, c.Mentioned)
	for _, m := range mentioned {
		if !containsID(p.Mentions, m) {
			if err := tx.activity(m, ActMention, p.AuthorID, p.ID, 0); err != nil {
				return nil, err
			}
		}
	}
	p.Caption, p.Tags, p.Mentions, p.EditedAt = caption, tags, mentioned, tx.now
	if err := tx.indexPost(p); err != nil {
		return nil, err
	}
	return p, tx.put(bPosts, p.ID.key(), p)
}

// DeletePost removes a post now from everything read directly (the post,
// the grid, tag pages, counts) and queues the rest (inboxes, likes,
// comments) for the outbox. Its photos become unattached and are swept
// with the next sweep. Only the author may.
type DeletePost struct {
	Meta
	ActorID ID `json:"actor_id"`
	PostID  ID `json:"post_id"`
	// AsAdmin is resolved before submission: the actor is an
	// administrator, who may delete anyone's post.
	AsAdmin bool `json:"as_admin,omitempty"`
}

// Shard returns the post's shard.
func (c DeletePost) Shard() uint16 { return c.PostID.Shard() }

func (c DeletePost) prepare(_ context.Context, s *Store) (Command[struct{}], func(struct{}, error) (struct{}, error), error) {
	c.AsAdmin = c.AsAdmin || s.isAdmin(c.ActorID)
	return c, nil, nil
}

func (c DeletePost) apply(tx *Tx) (struct{}, error) {
	p, err := tx.post(c.PostID)
	if err != nil {
		return struct{}{}, err
	}
	if p.AuthorID != c.ActorID && !c.AsAdmin {
		return struct{}{}, Errorf(ErrForbidden, "Only the author can delete this post.")
	}
	return struct{}{}, tx.deletePost(p)
}

// deletePost removes p from everything read directly and queues the rest.
func (tx *Tx) deletePost(p *Post) error {
	public := false
	if author, err := tx.user(p.AuthorID); err == nil {
		public = publicAuthor(author)
	}
	for _, step := range []func() error{
		func() error { return tx.unmark(bPosts, p.ID.key()) },
		func() error { return tx.unmark(bUserPosts, pair(p.AuthorID, p.ID)) },
		func() error { return tx.indexTags(p, nil, p.Tags) },
		func() error {
			if !public {
				return nil
			}
			return tx.publicCount(p, -1)
		},
		func() error { return tx.placeRemove(p) },
		func() error { return tx.indexPost(p) },
		func() error { return tx.count(p.AuthorID, func(c *Counts) { c.Posts-- }) },
		func() error { return tx.inboxRemove(p.AuthorID, p.ID) },
		func() error {
			return tx.enqueue(JobPostDeleted, FanoutJob{Post: p.ID, Author: p.AuthorID})
		},
	} {
		if err := step(); err != nil {
			return err
		}
	}
	for _, mid := range p.MediaIDs {
		m := new(Media)
		if tx.get(bMedia, mid.key(), m, "photo") != nil {
			continue
		}
		// Released photos expire at once: the next sweep removes them.
		m.PostID = 0
		if err := tx.put(bMedia, mid.key(), m); err != nil {
			return err
		}
		if err := tx.mark(bMediaAge, ageKey(time.Unix(0, 0), mid), nil); err != nil {
			return err
		}
	}
	return nil
}

func (t *Tx) post(id ID) (*Post, error) {
	p := new(Post)
	if err := t.get(bPosts, id.key(), p, "That post"); err != nil {
		return nil, err
	}
	return p, nil
}

// canSeePost applies the account rules to a post's author.
func (t *Tx) canSeePost(viewer ID, p *Post) (*User, error) {
	author, err := t.user(p.AuthorID)
	if err != nil {
		return nil, err
	}
	if err := t.canSeeAccount(viewer, author); err != nil {
		if errorsIsForbidden(err) {
			return nil, Errorf(ErrForbidden, "This post is from a private account; follow it to see it.")
		}
		return nil, Errorf(ErrNotFound, "That post was not found.")
	}
	return author, nil
}

func errorsIsForbidden(err error) bool {
	e, ok := err.(*Error)
	return ok && e.Kind == ErrForbidden
}

// ViewPost returns a post if viewer may see it: ErrNotFound for unknown or
// across a block, ErrForbidden for a private account not followed.
func (s *Store) ViewPost(viewer, id ID) (*Post, error) {
	var p *Post
	if err := s.synced(id, viewer); err != nil {
		return nil, err
	}
	err := s.view(func(tx *Tx) (err error) {
		if p, err = tx.post(id); err != nil {
			return err
		}
		_, err = tx.canSeePost(viewer, p)
		return err
	})
	return p, err
}

// PostPage is a page of posts with what rendering them needs, read in
// the same transaction. Its posts and photos may be shared with the
// store's cache: read them, never write to them.
type PostPage struct {
	Posts []*Post
	Next  ID
	Hydrated
}

// UserPosts returns a page of the account's posts, newest first, if
// viewer may see them (errors as canSeeAccount).
func (s *Store) UserPosts(viewer, user ID, p Page) (PostPage, error) {
	var out PostPage
	err := s.view(func(tx *Tx) error {
		u, err := tx.user(user)
		if err != nil {
			return err
		}
		if err := tx.canSeeAccount(viewer, u); err != nil {
			return err
		}
		ids, next := tx.pageIDs(bUserPosts, user, p)
		out.Next = next
		out.Posts = tx.posts(ids)
		out.Hydrated = tx.hydrate(viewer, out.Posts)
		return nil
	})
	return out, err
}

// posts reads the posts of a page, skipping missing ones. They are shared
// with the cache: callers only read them.
func (t *Tx) posts(ids []ID) []*Post {
	out := make([]*Post, 0, len(ids))
	for _, id := range ids {
		if p, err := shared[Post](t, bPosts, id, "That post"); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// TagPosts returns a page of the posts with a hashtag, newest first, that
// viewer may see, merged from every partition, and a count: how many
// public posts carry the tag, or, when none does, how many the viewer may
// see (a private account's followers; counting at most maxCounted).
func (s *Store) TagPosts(viewer ID, tag string, p Page) (PostPage, int, error) {
	p = p.norm()
	tag = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(tag), "#"))
	var out PostPage
	total := 0
	err := s.view(func(tx *Tx) error {
		tx.eachPart(func(pt *Tx) error {
			total += int(pt.counter(bTagPublic, []byte(tag)))
			return nil
		})
		if total == 0 {
			seen, _ := tx.mergePages(Page{Limit: maxCounted}, func(pt *Tx, take func(ID) bool) { pt.walkTag(tag, 0, take) }, viewer)
			total = len(seen)
		}
		out.Posts, out.Next = tx.mergePages(p, func(pt *Tx, take func(ID) bool) {
			pt.walkTag(tag, p.Before, take)
		}, viewer)
		out.Hydrated = tx.hydrate(viewer, out.Posts)
		return nil
	})
	return out, total, err
}

// walkTag calls fn with the posts of a hashtag in the partition t is
// focused on, newest first, below before (0: from the newest), until fn
// returns false.
func (t *Tx) walkTag(tag string, before ID, fn func(ID) bool) {
	prefix := append([]byte(tag), 0)
	c := t.bucket(bTags).Cursor()
	var k []byte
	if before == 0 {
		k, _ = c.Seek(append([]byte(tag), 1))
	} else {
		k, _ = c.Seek(tagKey(tag, before))
	}
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	for ; k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8; k, _ = c.Prev() {
		if !fn(idFromKey(k[len(prefix):])) {
			return
		}
	}
}

// Hydrated is what rendering a list of posts needs, read in one
// transaction: their authors, their photos (shared with the store's
// cache, so read-only) and which the viewer likes (only true entries).
type Hydrated struct {
	Authors map[ID]*User
	Media   map[ID]*Media
	Liked   map[ID]bool
}

// Hydrate reads the authors, photos and the viewer's likes of posts, plus
// the avatars of the authors and of extra users.
func (s *Store) Hydrate(viewer ID, posts []*Post, extra ...ID) (Hydrated, error) {
	var h Hydrated
	err := s.view(func(tx *Tx) error {
		h = tx.hydrate(viewer, posts, extra...)
		return nil
	})
	return h, err
}

func (tx *Tx) hydrate(viewer ID, posts []*Post, extra ...ID) Hydrated {
	h := Hydrated{Authors: make(map[ID]*User, len(posts)+len(extra)), Media: make(map[ID]*Media, 2*len(posts)+len(extra)), Liked: map[ID]bool{}}
	{
		addUser := func(id ID) {
			if _, ok := h.Authors[id]; ok {
				return
			}
			if u, err := tx.user(id); err == nil {
				h.Authors[id] = u
				if u.AvatarMediaID != 0 {
					addMedia(tx, h.Media, u.AvatarMediaID)
				}
			}
		}
		for _, p := range posts {
			addUser(p.AuthorID)
			for _, m := range p.Mentions {
				addUser(m)
			}
			for _, mid := range p.MediaIDs {
				addMedia(tx, h.Media, mid)
			}
			// A post nobody likes needs no lookup: its count is kept
			// in the transaction that marks a like.
			if viewer != 0 && p.LikeCount > 0 && tx.has(bLikes, pair(p.ID, viewer)) {
				h.Liked[p.ID] = true
			}
		}
		for _, id := range extra {
			addUser(id)
		}
	}
	return h
}

func addMedia(tx *Tx, into map[ID]*Media, id ID) {
	if _, ok := into[id]; ok {
		return
	}
	if m, err := shared[Media](tx, bMedia, id, "That photo"); err == nil {
		into[id] = m
	}
}

// RecentPublicPosts returns up to limit posts newer than since, newest
// first, from public accounts (neither private nor suspended) in every
// partition, for explore.
func (s *Store) RecentPublicPosts(since time.Time, limit int) ([]*Post, error) {
	var out []*Post
	floor := MakeID(since, 0, 0)
	err := s.view(func(tx *Tx) error {
		return tx.eachPart(func(pt *Tx) error {
			c := pt.bucket(bPosts).Cursor()
			n := 0
			for k, v := c.Last(); k != nil && idFromKey(k) >= floor && n < limit; k, v = c.Prev() {
				p := new(Post)
				if decode(v, p) != nil {
					continue
				}
				if u, err := tx.user(p.AuthorID); err == nil && publicAuthor(u) {
					out = append(out, p)
					n++
				}
			}
			return nil
		})
	})
	slices.SortFunc(out, func(a, b *Post) int { return cmp.Compare(b.ID, a.ID) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, err
}

// VisiblePublic returns the current state of those of posts that still
// exist, are still public content and viewer may see (no block between
// them), in the given order: for explore, whose ranking is computed
// every minute. The posts are shared with the store's cache: read them,
// never write to them.
func (s *Store) VisiblePublic(viewer ID, posts []*Post) ([]*Post, error) {
	var out []*Post
	err := s.view(func(tx *Tx) error {
		for _, p := range posts {
			cur, err := shared[Post](tx, bPosts, p.ID, "That post")
			if err != nil {
				continue
			}
			if author, err := tx.canSeePost(viewer, cur); err == nil && publicAuthor(author) {
				out = append(out, cur)
			}
		}
		return nil
	})
	return out, err
}
