package store

import (
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

// SetSuspended suspends an account (it may not sign in, its sessions end,
// and no one else sees it or anything it made, nor counts it) or lifts
// the suspension (everything but the sessions comes back). Only an
// administrator may, and not on their own account. It returns the
// account.
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
	return u, tx.suspend(u, c.Suspended)
}

// DeleteAccount deletes an account with everything it made: it vanishes
// at once (as if suspended, its sessions ended), its follows both ways
// end now on its side and through the outbox on the other side, and a
// background job deletes its posts (out of feeds, tags, search and the
// map), comments and likes. The account itself or an administrator may.
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
	u.Deleted = true
	if err := tx.suspend(u, true); err != nil {
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
// posts of one partition, found through that partition's indexes of
// them. The account is suspended, so none of them is counted any more. A
// repeated purge changes nothing.
type PurgeContent struct {
	Meta
	On     uint16 `json:"on"` // a shard of the partition purged
	UserID ID     `json:"user_id"`
}

// Shard returns On.
func (c PurgeContent) Shard() uint16 { return c.On }

func (c PurgeContent) apply(tx *Tx) (int, error) {
	var comments, liked []ID
	tx.walkOldest(bUserComms, c.UserID, 0, func(id ID) bool { comments = append(comments, id); return true })
	tx.walkOldest(bUserLikes, c.UserID, 0, func(id ID) bool { liked = append(liked, id); return true })
	for _, id := range comments {
		cm := new(Comment)
		if tx.get(bComments, id.key(), cm, "comment") != nil {
			if err := tx.unmark(bUserComms, pair(c.UserID, id)); err != nil {
				return 0, err
			}
			continue
		}
		if err := tx.deleteComment(cm); err != nil {
			return 0, err
		}
	}
	for _, post := range liked {
		if err := tx.unlike(post, c.UserID); err != nil {
			return 0, err
		}
	}
	return len(comments) + len(liked), nil
}
