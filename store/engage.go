package store

import (
	"context"
	"time"
)

// Like makes User like Post. Its result is the post's like count. Liking
// twice changes nothing. It fails as ViewPost when the user may not see
// the post.
type Like struct {
	Meta
	UserID ID   `json:"user_id"`
	PostID ID   `json:"post_id"`
	Undo   bool `json:"undo"` // unlike
}

// Shard returns the post's shard: likes live with their post.
func (c Like) Shard() uint16 { return c.PostID.Shard() }

func (c Like) apply(tx *Tx) (int64, error) {
	p, err := tx.post(c.PostID)
	if err != nil {
		return 0, err
	}
	if _, err := tx.canSeePost(c.UserID, p); err != nil {
		return 0, err
	}
	if err := tx.mayAct(c.UserID); err != nil {
		return 0, err
	}
	key := pair(c.PostID, c.UserID)
	has := tx.has(bLikes, key)
	switch {
	case !c.Undo && !has:
		if err := tx.mark(bLikes, key, msValue(tx.now)); err != nil {
			return 0, err
		}
		if err := tx.mark(bUserLikes, pair(c.UserID, c.PostID), nil); err != nil {
			return 0, err
		}
		p.LikeCount++
		if err := tx.activity(p.AuthorID, ActLike, c.UserID, p.ID, 0); err != nil {
			return 0, err
		}
		return p.LikeCount, tx.put(bPosts, p.ID.key(), p)
	case c.Undo && has:
		if err := tx.unlike(p.ID, c.UserID); err != nil {
			return 0, err
		}
		p, err = tx.post(c.PostID)
		if err != nil {
			return 0, err
		}
	}
	return p.LikeCount, nil
}

// mayAct returns ErrForbidden for a suspended or deleted account, which
// may not like, comment or follow (its sessions are ended, so this only
// closes the race with requests in flight).
func (t *Tx) mayAct(user ID) error {
	if t.hidden(user) {
		return Errorf(ErrForbidden, "This account is suspended.")
	}
	return nil
}

// unlike removes user's like of post, uncounting it unless the account is
// suspended (a suspended account's likes are not counted).
func (t *Tx) unlike(post, user ID) error {
	if err := t.unmark(bLikes, pair(post, user)); err != nil {
		return err
	}
	if err := t.unmark(bUserLikes, pair(user, post)); err != nil {
		return err
	}
	p, err := t.post(post)
	if err != nil || t.hidden(user) {
		return nil
	}
	p.LikeCount--
	return t.put(bPosts, p.ID.key(), p)
}

// LikedBy reports, for each post, whether user likes it.
func (s *Store) LikedBy(user ID, posts []ID) (map[ID]bool, error) {
	out := make(map[ID]bool, len(posts))
	if user == 0 {
		return out, nil
	}
	err := s.view(func(tx *Tx) error {
		for _, p := range posts {
			out[p] = tx.has(bLikes, pair(p, user))
		}
		return nil
	})
	return out, err
}

// Likers returns a page of the users who like a post the viewer may see,
// in order of user ID (newest accounts first).
func (s *Store) Likers(viewer, post ID, p Page) (UserPage, error) {
	var out UserPage
	if err := s.synced(post, viewer); err != nil {
		return out, err
	}
	err := s.view(func(tx *Tx) error {
		po, err := tx.post(post)
		if err != nil {
			return err
		}
		if _, err := tx.canSeePost(viewer, po); err != nil {
			return err
		}
		out = tx.userPage(viewer, bLikes, post, p)
		return nil
	})
	return out, err
}

// Comment is a reply under a post.
type Comment struct {
	ID        ID        `json:"id"`
	PostID    ID        `json:"post_id"`
	AuthorID  ID        `json:"author_id"`
	Text      string    `json:"text"`
	Mentions  []ID      `json:"mentions"`
	CreatedAt time.Time `json:"created_at"`
}

// MaxComment is the longest comment, in characters.
const MaxComment = 2200

// AddComment comments on a post the author may see. Its result is the
// *Comment, on the post's shard. It fails with ErrInvalid for empty or
// over-long text, and as ViewPost.
type AddComment struct {
	Meta
	AuthorID ID     `json:"author_id"`
	PostID   ID     `json:"post_id"`
	Text     string `json:"text"`
	// Mentioned is resolved before submission (see CreatePost).
	Mentioned map[string]ID `json:"mentioned,omitempty"`
}

// Shard returns the post's shard: comments live with their post.
func (c AddComment) Shard() uint16 { return c.PostID.Shard() }

func (c AddComment) prepare(_ context.Context, s *Store) (Command[*Comment], func(*Comment, error) (*Comment, error), error) {
	var err error
	c.Mentioned, err = s.mentionable(c.AuthorID, c.Text)
	return c, nil, err
}

func (c AddComment) apply(tx *Tx) (*Comment, error) {
	text, err := checkText("text", c.Text, MaxComment)
	if err != nil {
		return nil, err
	}
	if text == "" {
		return nil, Invalid("text", "Write something first.")
	}
	p, err := tx.post(c.PostID)
	if err != nil {
		return nil, err
	}
	if _, err := tx.canSeePost(c.AuthorID, p); err != nil {
		return nil, err
	}
	if err := tx.mayAct(c.AuthorID); err != nil {
		return nil, err
	}
	id, err := tx.NewID(c.Shard())
	if err != nil {
		return nil, err
	}
	_, names := ParseCaption(text)
	cm := &Comment{ID: id, PostID: p.ID, AuthorID: c.AuthorID, Text: text, Mentions: mentions(names, c.Mentioned), CreatedAt: tx.now}
	if err := tx.put(bComments, id.key(), cm); err != nil {
		return nil, err
	}
	if err := tx.mark(bPostComms, pair(p.ID, id), nil); err != nil {
		return nil, err
	}
	if err := tx.mark(bUserComms, pair(c.AuthorID, id), nil); err != nil {
		return nil, err
	}
	p.CommentCount++
	if err := tx.put(bPosts, p.ID.key(), p); err != nil {
		return nil, err
	}
	if err := tx.activity(p.AuthorID, ActComment, c.AuthorID, p.ID, id); err != nil {
		return nil, err
	}
	for _, m := range cm.Mentions {
		if m != p.AuthorID {
			if err := tx.activity(m, ActMention, c.AuthorID, p.ID, id); err != nil {
				return nil, err
			}
		}
	}
	return cm, nil
}

// DeleteComment removes a comment; its author or the post's author may.
// It fails with ErrNotFound for an unknown comment and ErrForbidden for
// anyone else.
type DeleteComment struct {
	Meta
	ActorID   ID `json:"actor_id"`
	CommentID ID `json:"comment_id"`
	// AsAdmin is resolved before submission (see DeletePost).
	AsAdmin bool `json:"as_admin,omitempty"`
}

// Shard returns the comment's shard.
func (c DeleteComment) Shard() uint16 { return c.CommentID.Shard() }

func (c DeleteComment) prepare(_ context.Context, s *Store) (Command[struct{}], func(struct{}, error) (struct{}, error), error) {
	c.AsAdmin = s.isAdmin(c.ActorID)
	return c, nil, nil
}

func (c DeleteComment) apply(tx *Tx) (struct{}, error) {
	cm := new(Comment)
	if err := tx.get(bComments, c.CommentID.key(), cm, "That comment"); err != nil {
		return struct{}{}, err
	}
	p, err := tx.post(cm.PostID)
	if err != nil {
		return struct{}{}, err
	}
	if c.ActorID != cm.AuthorID && c.ActorID != p.AuthorID && !c.AsAdmin {
		return struct{}{}, Errorf(ErrForbidden, "Only the comment's author or the post's author can delete it.")
	}
	return struct{}{}, tx.deleteComment(cm)
}

// deleteComment removes a comment and counts it off its post (unless its
// author is suspended: their comments are not counted).
func (tx *Tx) deleteComment(cm *Comment) error {
	if err := tx.unmark(bComments, cm.ID.key()); err != nil {
		return err
	}
	if err := tx.unmark(bUserComms, pair(cm.AuthorID, cm.ID)); err != nil {
		return err
	}
	p, err := tx.post(cm.PostID)
	if err != nil {
		return nil
	}
	if err := tx.unmark(bPostComms, pair(p.ID, cm.ID)); err != nil {
		return err
	}
	if tx.hidden(cm.AuthorID) {
		return nil
	}
	p.CommentCount--
	return tx.put(bPosts, p.ID.key(), p)
}

// CommentPage is a page of comments.
type CommentPage struct {
	Comments []*Comment
	Next     ID
}

// Comments returns a page of a post's comments, newest first, without
// those of suspended accounts and of accounts the viewer blocks or is
// blocked by.
func (s *Store) Comments(viewer, post ID, p Page) (CommentPage, error) {
	var out CommentPage
	if err := s.synced(post, viewer); err != nil {
		return out, err
	}
	err := s.view(func(tx *Tx) error {
		po, err := tx.post(post)
		if err != nil {
			return err
		}
		if _, err := tx.canSeePost(viewer, po); err != nil {
			return err
		}
		ids, next := tx.pageIDs(bPostComms, post, p)
		out.Next = next
		for _, id := range ids {
			cm := new(Comment)
			if tx.get(bComments, id.key(), cm, "comment") == nil && !tx.hidden(cm.AuthorID) && !tx.blocked(viewer, cm.AuthorID) {
				out.Comments = append(out.Comments, cm)
			}
		}
		return nil
	})
	return out, err
}

// PurgePost drops up to Limit of a deleted post's likes and comments; the
// post-deleted job runs it until nothing is left. Its result is how many
// it dropped.
type PurgePost struct {
	Meta
	PostID ID  `json:"post_id"`
	Limit  int `json:"limit"`
}

// Shard returns the post's shard.
func (c PurgePost) Shard() uint16 { return c.PostID.Shard() }

func (c PurgePost) apply(tx *Tx) (int, error) {
	var likes, comms []ID
	tx.walkOldest(bLikes, c.PostID, 0, func(u ID) bool { likes = append(likes, u); return len(likes) < c.Limit })
	tx.walkOldest(bPostComms, c.PostID, 0, func(id ID) bool { comms = append(comms, id); return len(comms) < c.Limit })
	for _, u := range likes {
		if err := tx.unmark(bLikes, pair(c.PostID, u)); err != nil {
			return 0, err
		}
		if err := tx.unmark(bUserLikes, pair(u, c.PostID)); err != nil {
			return 0, err
		}
	}
	for _, id := range comms {
		cm := new(Comment)
		if tx.get(bComments, id.key(), cm, "comment") == nil {
			if err := tx.unmark(bUserComms, pair(cm.AuthorID, id)); err != nil {
				return 0, err
			}
		}
		if err := tx.unmark(bComments, id.key()); err != nil {
			return 0, err
		}
		if err := tx.unmark(bPostComms, pair(c.PostID, id)); err != nil {
			return 0, err
		}
	}
	return len(likes) + len(comms), nil
}
