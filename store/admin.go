package store

import (
	"bytes"
	"context"
)

// JobPurgeUser deletes a deleted account's content in batches.
const JobPurgeUser = "purge_user" // IndexJob{ID: user}

// isAdmin reports whether id is an administrator in good standing (read
// transactions; commands carry what prepare found).
func (t *Tx) isAdmin(id ID) bool {
	u, err := t.user(id)
	return err == nil && u.Admin && !u.Suspended
}

// isAdmin reports whether id is an administrator in good standing.
func (s *Store) isAdmin(id ID) bool { return s.requireAdmin(id) == nil }

// SetSuspended suspends an account (it may not sign in, and no one else
// sees it or its content) or lifts the suspension. Only an administrator
// may, and not on their own account. It returns the account.
type SetSuspended struct {
	Meta
	AdminID   ID   `json:"admin_id"`
	UserID    ID   `json:"user_id"`
	Suspended bool `json:"suspended"`
}

// Shard returns the account's shard.
func (c SetSuspended) Shard() uint16 { return c.UserID.Shard() }

// prepare checks the administrator, whose account lives in its own
// partition.
func (c SetSuspended) prepare(_ context.Context, s *Store) (Command[*User], func(*User, error) (*User, error), error) {
	if err := s.requireAdmin(c.AdminID); err != nil {
		return nil, nil, err
	}
	return c, nil, nil
}

func (c SetSuspended) apply(tx *Tx) (*User, error) {
	if c.AdminID == c.UserID {
		return nil, Errorf(ErrConflict, "You cannot suspend your own account.")
	}
	u, err := tx.user(c.UserID)
	if err != nil {
		return nil, err
	}
	if u.Deleted {
		return nil, Errorf(ErrConflict, "That account has been deleted.")
	}
	u.Suspended, u.UpdatedAt = c.Suspended, tx.now
	if err := tx.put(bUsers, u.ID.key(), u); err != nil {
		return nil, err
	}
	return u, tx.enqueue(JobIndexUser, IndexJob{ID: u.ID})
}

// DeleteAccount deletes an account with everything it made: it vanishes
// at once (as if suspended), its follows both ways end now on its side
// and through the outbox on the other side, and a background job deletes
// its posts (out of feeds, tags, search and the map), comments and likes.
// The account itself or an administrator may.
type DeleteAccount struct {
	Meta
	ActorID ID `json:"actor_id"`
	UserID  ID `json:"user_id"`
	// AsAdmin is resolved before submission: the actor is an
	// administrator.
	AsAdmin bool `json:"as_admin,omitempty"`
}

// Shard returns the account's shard.
func (c DeleteAccount) Shard() uint16 { return c.UserID.Shard() }

func (c DeleteAccount) prepare(_ context.Context, s *Store) (Command[struct{}], func(struct{}, error) (struct{}, error), error) {
	c.AsAdmin = c.ActorID != c.UserID && s.isAdmin(c.ActorID)
	return c, nil, nil
}

func (c DeleteAccount) apply(tx *Tx) (struct{}, error) {
	if c.ActorID != c.UserID && !c.AsAdmin {
		return struct{}{}, Errorf(ErrForbidden, "Only an administrator may do that.")
	}
	u, err := tx.user(c.UserID)
	if err != nil {
		return struct{}{}, err
	}
	u.Suspended, u.Deleted, u.UpdatedAt = true, true, tx.now
	if err := tx.put(bUsers, u.ID.key(), u); err != nil {
		return struct{}{}, err
	}
	var out, in []ID
	tx.walkOldest(bFollowing, u.ID, 0, func(other ID) bool { out = append(out, other); return true })
	tx.walkOldest(bRequested, u.ID, 0, func(other ID) bool { out = append(out, other); return true })
	tx.walkOldest(bFollowers, u.ID, 0, func(other ID) bool { in = append(in, other); return true })
	tx.walkOldest(bRequests, u.ID, 0, func(other ID) bool { in = append(in, other); return true })
	for _, other := range out {
		if err := tx.setFollowState(u.ID, other, StateNone, false, false); err != nil {
			return struct{}{}, err
		}
	}
	for _, other := range in {
		if err := tx.dropFollower(u.ID, other); err != nil {
			return struct{}{}, err
		}
	}
	if err := tx.enqueue(JobIndexUser, IndexJob{ID: u.ID}); err != nil {
		return struct{}{}, err
	}
	return struct{}{}, tx.enqueue(JobPurgeUser, IndexJob{ID: u.ID})
}

// PurgeUser deletes up to Limit posts of a deleted account. It reports
// whether none is left; the purge job then removes the account's comments
// and likes in every partition (PurgeContent). Running it again after that
// changes nothing.
type PurgeUser struct {
	Meta
	UserID ID  `json:"user_id"`
	Limit  int `json:"limit"`
}

// Shard returns the account's shard.
func (c PurgeUser) Shard() uint16 { return c.UserID.Shard() }

func (c PurgeUser) apply(tx *Tx) (bool, error) {
	u, err := tx.user(c.UserID)
	if err != nil || !u.Deleted {
		return true, nil
	}
	var posts []ID
	tx.walkNewest(bUserPosts, u.ID, 0, func(id ID) bool {
		posts = append(posts, id)
		return len(posts) < max(c.Limit, 1)
	})
	for _, id := range posts {
		p, err := tx.post(id)
		if err != nil {
			continue
		}
		if err := tx.deletePost(p); err != nil {
			return false, err
		}
	}
	return len(posts) == 0, nil
}

// PurgeContent removes a deleted account's comments and likes from the
// posts of one partition: the ones its purge job found there. Each is
// checked again (the comment is the account's, the like exists), so a
// repeated purge changes nothing.
type PurgeContent struct {
	Meta
	On       uint16 `json:"on"` // a shard of the partition purged
	UserID   ID     `json:"user_id"`
	Comments []ID   `json:"comments,omitempty"`
	Liked    []ID   `json:"liked,omitempty"` // posts the account likes
}

// Shard returns On.
func (c PurgeContent) Shard() uint16 { return c.On }

func (c PurgeContent) apply(tx *Tx) (int, error) {
	n := 0
	for _, id := range c.Comments {
		cm := new(Comment)
		if tx.get(bComments, id.key(), cm, "comment") != nil || cm.AuthorID != c.UserID {
			continue
		}
		if err := tx.deleteComment(cm); err != nil {
			return 0, err
		}
		n++
	}
	for _, post := range c.Liked {
		key := pair(post, c.UserID)
		if !tx.has(bLikes, key) {
			continue
		}
		if err := tx.unmark(bLikes, key); err != nil {
			return 0, err
		}
		if p, err := tx.post(post); err == nil {
			p.LikeCount--
			if err := tx.put(bPosts, p.ID.key(), p); err != nil {
				return 0, err
			}
		}
		n++
	}
	return n, nil
}

// ContentBy returns, per partition, the comments a user wrote and the
// posts they like: what PurgeContent removes once the account is deleted.
func (s *Store) ContentBy(user ID) (comments, liked [][]ID, err error) {
	comments, liked = make([][]ID, len(s.parts)), make([][]ID, len(s.parts))
	suffix := user.key()
	err = s.view(func(tx *Tx) error {
		return tx.eachPart(func(pt *Tx) error {
			if err := pt.bucket(bComments).ForEach(func(k, v []byte) error {
				cm := new(Comment)
				if err := decode(v, cm); err == nil && cm.AuthorID == user {
					comments[pt.part] = append(comments[pt.part], cm.ID)
				}
				return nil
			}); err != nil {
				return err
			}
			return pt.bucket(bLikes).ForEach(func(k, _ []byte) error {
				if len(k) == 16 && bytes.Equal(k[8:], suffix) {
					liked[pt.part] = append(liked[pt.part], idFromKey(k[:8]))
				}
				return nil
			})
		})
	})
	return comments, liked, err
}
