package store

// FollowState is where a follower stands with an account.
type FollowState string

// The follow states.
const (
	StateNone      FollowState = "none"
	StateRequested FollowState = "requested"
	StateFollowing FollowState = "following"
)

// Jobs the graph writes to the outbox.
const (
	JobBackfill = "backfill" // {user, author}: put author's recent posts in user's inbox
	JobUnfan    = "unfan"    // {user, author}: take author's posts out of user's inbox
	JobActivity = "activity" // Activity to add to a user's activity list
)

// PairJob is the payload of backfill and unfan jobs.
type PairJob struct {
	User   ID `json:"user"`
	Author ID `json:"author"`
}

// blocked reports whether either user blocks the other. Read
// transactions first ask, once per user, whether a takes part in any
// block at all, which for most viewers saves two lookups per item.
func (t *Tx) blocked(a, b ID) bool {
	if a == 0 || b == 0 {
		return false
	}
	if t.users != nil {
		free, ok := t.blockFree[a]
		if !ok {
			free = !t.hasPrefix(bBlocks, a) && !t.hasPrefix(bBlockedBy, a)
			if t.blockFree == nil {
				t.blockFree = map[ID]bool{}
			}
			t.blockFree[a] = free
		}
		if free {
			return false
		}
	}
	return t.has(bBlocks, pair(a, b)) || t.has(bBlocks, pair(b, a))
}

// hasPrefix reports whether any key of bucket starts with owner.
func (t *Tx) hasPrefix(bucket []byte, owner ID) bool {
	k, _ := t.bucket(bucket).Cursor().Seek(owner.key())
	return k != nil && string(k[:8]) == string(owner.key())
}

func (t *Tx) follows(follower, followee ID) bool {
	return follower != 0 && t.has(bFollowing, pair(follower, followee))
}

// Follow makes Follower follow Target, or asks to when Target is private.
// Its result is the new state. It fails with ErrInvalid when following
// oneself, ErrNotFound for an unknown or suspended account or one that
// blocks, or is blocked by, the follower, and ErrForbidden when the
// follower is suspended.
type Follow struct {
	Meta
	FollowerID ID `json:"follower_id"`
	TargetID   ID `json:"target_id"`
}

// Shard returns the follower's shard.
func (c Follow) Shard() uint16 { return c.FollowerID.Shard() }

func (c Follow) apply(tx *Tx) (FollowState, error) {
	if c.FollowerID == c.TargetID {
		return StateNone, Invalid("username", "You can't follow yourself.")
	}
	target, err := tx.user(c.TargetID)
	if err != nil || target.Suspended || tx.blocked(c.FollowerID, c.TargetID) {
		return StateNone, Errorf(ErrNotFound, "That account was not found.")
	}
	if _, err := tx.user(c.FollowerID); err != nil {
		return StateNone, err
	}
	if err := tx.mayAct(c.FollowerID); err != nil {
		return StateNone, err
	}
	switch {
	case tx.follows(c.FollowerID, c.TargetID):
		return StateFollowing, nil
	case tx.has(bRequests, pair(c.TargetID, c.FollowerID)):
		return StateRequested, nil
	case target.Private:
		if err := tx.mark(bRequests, pair(c.TargetID, c.FollowerID), msValue(tx.now)); err != nil {
			return StateNone, err
		}
		return StateRequested, tx.activity(c.TargetID, ActFollowRequest, c.FollowerID, 0, 0)
	}
	if err := tx.link(c.FollowerID, c.TargetID); err != nil {
		return StateNone, err
	}
	return StateFollowing, tx.activity(c.TargetID, ActFollow, c.FollowerID, 0, 0)
}

// link adds the follow edge both ways, counts it, and asks for a
// backfill. A suspended follower is not counted among the followee's
// followers (see countDoings).
func (t *Tx) link(follower, followee ID) error {
	if err := t.mark(bFollowing, pair(follower, followee), msValue(t.now)); err != nil {
		return err
	}
	if err := t.mark(bFollowers, pair(followee, follower), msValue(t.now)); err != nil {
		return err
	}
	if err := t.count(follower, func(c *Counts) { c.Following++ }); err != nil {
		return err
	}
	if !t.hidden(follower) {
		if err := t.count(followee, func(c *Counts) { c.Followers++ }); err != nil {
			return err
		}
	}
	return t.enqueue(follower.Shard(), JobBackfill, PairJob{User: follower, Author: followee})
}

// unlink removes a follow edge if there is one, and asks for the
// followee's posts to leave the follower's feed.
func (t *Tx) unlink(follower, followee ID) error {
	if !t.follows(follower, followee) {
		return nil
	}
	if err := t.unmark(bFollowing, pair(follower, followee)); err != nil {
		return err
	}
	if err := t.unmark(bFollowers, pair(followee, follower)); err != nil {
		return err
	}
	if err := t.count(follower, func(c *Counts) { c.Following-- }); err != nil {
		return err
	}
	if !t.hidden(follower) {
		if err := t.count(followee, func(c *Counts) { c.Followers-- }); err != nil {
			return err
		}
	}
	return t.enqueue(follower.Shard(), JobUnfan, PairJob{User: follower, Author: followee})
}

// count changes a user's counters and keeps the celebrity set current
// (migrations, which know no threshold, leave the set alone).
func (t *Tx) count(id ID, fn func(*Counts)) error {
	u, err := t.user(id)
	if err != nil {
		return err
	}
	fn(&u.Counts)
	if t.opt == nil {
		return t.put(bUsers, id.key(), u)
	}
	if int(u.Counts.Followers) >= t.opt.CelebrityAt {
		err = t.mark(bCelebs, id.key(), nil)
	} else {
		err = t.unmark(bCelebs, id.key())
	}
	if err != nil {
		return err
	}
	return t.put(bUsers, id.key(), u)
}

// Unfollow stops following Target and withdraws a pending request. Its
// result is StateNone. Unfollowing someone not followed changes nothing.
type Unfollow struct {
	Meta
	FollowerID ID `json:"follower_id"`
	TargetID   ID `json:"target_id"`
}

// Shard returns the follower's shard.
func (c Unfollow) Shard() uint16 { return c.FollowerID.Shard() }

func (c Unfollow) apply(tx *Tx) (FollowState, error) {
	if err := tx.unmark(bRequests, pair(c.TargetID, c.FollowerID)); err != nil {
		return StateNone, err
	}
	return StateNone, tx.unlink(c.FollowerID, c.TargetID)
}

// AnswerRequest approves or denies a pending follow request to Target.
// It fails with ErrNotFound when there is no such request.
type AnswerRequest struct {
	Meta
	TargetID    ID   `json:"target_id"`
	RequesterID ID   `json:"requester_id"`
	Approve     bool `json:"approve"`
}

// Shard returns the target's shard.
func (c AnswerRequest) Shard() uint16 { return c.TargetID.Shard() }

func (c AnswerRequest) apply(tx *Tx) (struct{}, error) {
	key := pair(c.TargetID, c.RequesterID)
	if !tx.has(bRequests, key) {
		return struct{}{}, Errorf(ErrNotFound, "There is no pending request from that account.")
	}
	if err := tx.unmark(bRequests, key); err != nil {
		return struct{}{}, err
	}
	if !c.Approve || tx.blocked(c.TargetID, c.RequesterID) {
		return struct{}{}, nil
	}
	return struct{}{}, tx.link(c.RequesterID, c.TargetID)
}

// Block makes Blocker block Blocked: follows both ways and requests both
// ways are removed, and each one's posts leave the other's feed. Blocking
// twice changes nothing. It fails with ErrInvalid for oneself and
// ErrNotFound for an unknown account.
type Block struct {
	Meta
	BlockerID ID `json:"blocker_id"`
	BlockedID ID `json:"blocked_id"`
}

// Shard returns the blocker's shard.
func (c Block) Shard() uint16 { return c.BlockerID.Shard() }

func (c Block) apply(tx *Tx) (struct{}, error) {
	if c.BlockerID == c.BlockedID {
		return struct{}{}, Invalid("username", "You can't block yourself.")
	}
	if _, err := tx.user(c.BlockedID); err != nil {
		return struct{}{}, err
	}
	for _, step := range []func() error{
		func() error { return tx.mark(bBlocks, pair(c.BlockerID, c.BlockedID), msValue(tx.now)) },
		func() error { return tx.mark(bBlockedBy, pair(c.BlockedID, c.BlockerID), msValue(tx.now)) },
		func() error { return tx.unlink(c.BlockerID, c.BlockedID) },
		func() error { return tx.unlink(c.BlockedID, c.BlockerID) },
		func() error { return tx.unmark(bRequests, pair(c.BlockerID, c.BlockedID)) },
		func() error { return tx.unmark(bRequests, pair(c.BlockedID, c.BlockerID)) },
	} {
		if err := step(); err != nil {
			return struct{}{}, err
		}
	}
	return struct{}{}, nil
}

// Unblock lifts a block; follows are not restored.
type Unblock struct {
	Meta
	BlockerID ID `json:"blocker_id"`
	BlockedID ID `json:"blocked_id"`
}

// Shard returns the blocker's shard.
func (c Unblock) Shard() uint16 { return c.BlockerID.Shard() }

func (c Unblock) apply(tx *Tx) (struct{}, error) {
	if err := tx.unmark(bBlocks, pair(c.BlockerID, c.BlockedID)); err != nil {
		return struct{}{}, err
	}
	return struct{}{}, tx.unmark(bBlockedBy, pair(c.BlockedID, c.BlockerID))
}

// Relationship is how a viewer and another account are connected.
type Relationship struct {
	Following  bool `json:"following"`
	FollowedBy bool `json:"followed_by"`
	Requested  bool `json:"requested"`
	Blocking   bool `json:"blocking"`
	BlockedBy  bool `json:"-"`
}

// Relationship returns how viewer and other are connected.
func (s *Store) Relationship(viewer, other ID) (Relationship, error) {
	var r Relationship
	err := s.view(func(tx *Tx) error {
		r = tx.relationship(viewer, other)
		return nil
	})
	return r, err
}

func (t *Tx) relationship(viewer, other ID) Relationship {
	if viewer == 0 {
		return Relationship{}
	}
	return Relationship{
		Following:  t.follows(viewer, other),
		FollowedBy: t.follows(other, viewer),
		Requested:  t.has(bRequests, pair(other, viewer)),
		Blocking:   t.has(bBlocks, pair(viewer, other)),
		BlockedBy:  t.has(bBlocks, pair(other, viewer)),
	}
}

// canSeeAccount decides whether viewer (0 for anonymous) may see the
// posts, followers and following of u. It returns ErrNotFound across a
// block and ErrForbidden for a private account the viewer does not follow.
func (t *Tx) canSeeAccount(viewer ID, u *User) error {
	if t.blocked(viewer, u.ID) || (u.Suspended && viewer != u.ID) {
		return Errorf(ErrNotFound, "That account was not found.")
	}
	if u.Private && viewer != u.ID && !t.follows(viewer, u.ID) {
		return Errorf(ErrForbidden, "This account is private; follow it to see its photos.")
	}
	return nil
}

// ViewProfile returns the account called name as viewer may see it, with
// the relationship between them. It returns ErrNotFound for an unknown
// or suspended account (to everyone but itself; administrators see
// suspended accounts in the admin area only) and to the account a block
// hides it from.
func (s *Store) ViewProfile(viewer ID, name string) (*User, Relationship, error) {
	u, err := s.UserByUsername(name)
	if err != nil {
		return nil, Relationship{}, err
	}
	var r Relationship
	err = s.view(func(tx *Tx) error {
		if (tx.blocked(viewer, u.ID) && !tx.has(bBlocks, pair(viewer, u.ID))) || (u.Suspended && viewer != u.ID) {
			return Errorf(ErrNotFound, "There is no account called %q.", truncate(name, 40))
		}
		r = tx.relationship(viewer, u.ID)
		return nil
	})
	return u, r, err
}

// UserPage is a page of accounts.
type UserPage struct {
	Users []*User
	Next  ID
}

// Followers returns a page of who follows u, newest first, if viewer may
// see u's account; errors as canSeeAccount.
func (s *Store) Followers(viewer, u ID, p Page) (UserPage, error) {
	return s.userList(viewer, u, bFollowers, p, true)
}

// Following returns a page of whom u follows; errors as Followers.
func (s *Store) Following(viewer, u ID, p Page) (UserPage, error) {
	return s.userList(viewer, u, bFollowing, p, true)
}

// FollowRequests returns a page of the pending requests to u.
func (s *Store) FollowRequests(u ID, p Page) (UserPage, error) {
	return s.userList(u, u, bRequests, p, false)
}

// userList pages a user-keyed list by the order of user IDs (newest
// accounts first).
func (s *Store) userList(viewer, owner ID, bucket []byte, p Page, check bool) (UserPage, error) {
	var out UserPage
	err := s.view(func(tx *Tx) error {
		if check {
			u, err := tx.user(owner)
			if err != nil {
				return err
			}
			if err := tx.canSeeAccount(viewer, u); err != nil {
				return err
			}
		}
		out = tx.userPage(viewer, bucket, owner, p)
		return nil
	})
	return out, err
}

// userPage reads one page of a user-keyed list, leaving out suspended
// accounts and those the viewer blocks or is blocked by.
func (t *Tx) userPage(viewer ID, bucket []byte, owner ID, p Page) UserPage {
	var out UserPage
	ids, next := t.pageIDs(bucket, owner, p)
	out.Next = next
	for _, id := range ids {
		if u, err := t.user(id); err == nil && !u.Suspended && !t.blocked(viewer, id) {
			out.Users = append(out.Users, u)
		}
	}
	return out
}
