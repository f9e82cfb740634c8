package store

import (
	"bytes"
)

// JobPurgeUser deletes a deleted account's content in batches.
const JobPurgeUser = "purge_user" // IndexJob{ID: user}

func (t *Tx) isAdmin(id ID) bool {
	u, err := t.user(id)
	return err == nil && u.Admin && !u.Suspended
}

func (t *Tx) requireAdmin(id ID) error {
	if !t.isAdmin(id) {
		return Errorf(ErrForbidden, "Only an administrator may do that.")
	}
	return nil
}

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

func (c SetSuspended) apply(tx *Tx) (*User, error) {
	if err := tx.requireAdmin(c.AdminID); err != nil {
		return nil, err
	}
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
	return u, tx.enqueue(c.Shard(), JobIndexUser, IndexJob{ID: u.ID})
}

// DeleteAccount deletes an account with everything it made: it vanishes
// at once (as if suspended), its follows both ways end now, and a
// background job deletes its posts (out of feeds, tags, search and the
// map), comments and likes. The account itself or an administrator may.
type DeleteAccount struct {
	Meta
	ActorID ID `json:"actor_id"`
	UserID  ID `json:"user_id"`
}

// Shard returns the account's shard.
func (c DeleteAccount) Shard() uint16 { return c.UserID.Shard() }

func (c DeleteAccount) apply(tx *Tx) (struct{}, error) {
	if c.ActorID != c.UserID {
		if err := tx.requireAdmin(c.ActorID); err != nil {
			return struct{}{}, err
		}
	}
	u, err := tx.user(c.UserID)
	if err != nil {
		return struct{}{}, err
	}
	u.Suspended, u.Deleted, u.UpdatedAt = true, true, tx.now
	if err := tx.put(bUsers, u.ID.key(), u); err != nil {
		return struct{}{}, err
	}
	var edges [][2]ID
	tx.walkOldest(bFollowing, u.ID, 0, func(other ID) bool { edges = append(edges, [2]ID{u.ID, other}); return true })
	tx.walkOldest(bFollowers, u.ID, 0, func(other ID) bool { edges = append(edges, [2]ID{other, u.ID}); return true })
	for _, e := range edges {
		if err := tx.unlink(e[0], e[1]); err != nil {
			return struct{}{}, err
		}
	}
	if err := tx.enqueue(c.Shard(), JobIndexUser, IndexJob{ID: u.ID}); err != nil {
		return struct{}{}, err
	}
	return struct{}{}, tx.enqueue(c.Shard(), JobPurgeUser, IndexJob{ID: u.ID})
}

// PurgeUser deletes up to Limit posts of a deleted account, and once none
// is left its comments and likes on other posts. It reports whether the
// purge is complete; running it again after that changes nothing.
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
	if len(posts) > 0 {
		return false, nil
	}
	// Comments and likes on other people's posts.
	var comments []*Comment
	if err := tx.bucket(bComments).ForEach(func(_, v []byte) error {
		cm := new(Comment)
		if err := decode(v, cm); err == nil && cm.AuthorID == u.ID {
			comments = append(comments, cm)
		}
		return nil
	}); err != nil {
		return false, err
	}
	for _, cm := range comments {
		if err := tx.deleteComment(cm); err != nil {
			return false, err
		}
	}
	suffix := u.ID.key()
	var likes [][]byte
	if err := tx.bucket(bLikes).ForEach(func(k, _ []byte) error {
		if len(k) == 16 && bytes.Equal(k[8:], suffix) {
			likes = append(likes, bytes.Clone(k))
		}
		return nil
	}); err != nil {
		return false, err
	}
	for _, k := range likes {
		p, err := tx.post(idFromKey(k[:8]))
		if err != nil {
			continue
		}
		if err := tx.unmark(bLikes, k); err != nil {
			return false, err
		}
		p.LikeCount--
		if err := tx.put(bPosts, p.ID.key(), p); err != nil {
			return false, err
		}
	}
	return true, nil
}
