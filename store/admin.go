package store

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
	return u, tx.suspend(u, c.Suspended)
}

// DeleteAccount deletes an account with everything it made: it vanishes
// at once (as if suspended, its sessions ended), its follows both ways
// end now, and a background job deletes its posts (out of feeds, tags,
// search and the map), comments and likes. The account itself or an
// administrator may.
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
	u.Deleted = true
	if err := tx.suspend(u, true); err != nil {
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
	// Comments and likes on other people's posts, from the account's own
	// lists of them. The account is suspended, so none of them is
	// counted any more.
	var comments, liked []ID
	tx.walkOldest(bUserComms, u.ID, 0, func(id ID) bool { comments = append(comments, id); return true })
	tx.walkOldest(bUserLikes, u.ID, 0, func(id ID) bool { liked = append(liked, id); return true })
	for _, id := range comments {
		cm := new(Comment)
		if tx.get(bComments, id.key(), cm, "comment") != nil {
			if err := tx.unmark(bUserComms, pair(u.ID, id)); err != nil {
				return false, err
			}
			continue
		}
		if err := tx.deleteComment(cm); err != nil {
			return false, err
		}
	}
	for _, post := range liked {
		if err := tx.unlike(post, u.ID); err != nil {
			return false, err
		}
	}
	return true, nil
}
