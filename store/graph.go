package store

import (
	"context"
)

// The social graph across partitions. Every edge has two sides, each in
// its own user's partition:
//
//   - a follow: following and requested (the follower's side, which owns
//     the intent) and followers and requests (the followee's side);
//   - a block: blocks (the blocker's side, which owns it) and blockedby
//     (the blocked account's side).
//
// The owning side changes first, stamps the edge with a new version (an
// ID minted on its own shard, so versions of one edge only grow) and
// queues a sync job; the job's command brings the other side to the same
// state unless it carries a version no newer than the last one seen
// there, so syncs that arrive out of order or twice change nothing. The
// followee's side may refuse a follow (a block, a deleted account): it
// then drops its side and tells the follower's side to drop the edge.
// Each side counts its own edges, and visibility is always decided by
// the side of the account whose content is looked at.

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
	JobBackfill     = "backfill"      // PairJob: put author's recent posts in user's inbox
	JobUnfan        = "unfan"         // PairJob: take author's posts out of user's inbox
	JobActivity     = "activity"      // Activity to add to a user's activity list
	JobFollowSync   = "follow_sync"   // SyncFollow: the followee's side of a follow
	JobFollowAnswer = "follow_answer" // AnswerFollow: a request approved or denied, to the follower's side
	JobFollowDrop   = "follow_drop"   // DropFollow: the followee's side refused or ended a follow
	JobBlockSync    = "block_sync"    // SyncBlock: the blocked account's side of a block
)

// PairJob is the payload of backfill and unfan jobs.
type PairJob struct {
	User   ID `json:"user"`
	Author ID `json:"author"`
}

// Edge version kinds, the middle byte of an edgever key owner|kind|other.
const (
	verFollow   = 'f' // the follower's version of its follow edge to other
	verFollowed = 't' // the followee's last applied version of other's follow
	verBlock    = 'b' // the blocker's version of its block of other
	verBlocked  = 'x' // the blocked account's last applied version of other's block
)

func verKey(owner ID, kind byte, other ID) []byte {
	k := append(owner.key(), kind)
	return append(k, other.key()...)
}

func (t *Tx) version(owner ID, kind byte, other ID) ID {
	if v := t.at(bEdgeVer, owner.key()).Get(verKey(owner, kind, other)); len(v) == 8 {
		return idFromKey(v)
	}
	return 0
}

func (t *Tx) setVersion(owner ID, kind byte, other, v ID) error {
	return t.set(bEdgeVer, verKey(owner, kind, other), v.key())
}

// newer records v as the version last applied to owner's side of an edge
// and reports whether it is newer than the one before.
func (t *Tx) newer(owner ID, kind byte, other, v ID) (bool, error) {
	if v <= t.version(owner, kind, other) {
		return false, nil
	}
	return true, t.setVersion(owner, kind, other, v)
}

// pass applies cmd, a change to the other side of an edge, at once when
// that side lives in this partition (always, with one partition), or
// queues it as a job of the given kind, whose handler sends it to its
// own partition. Either way the other side reaches the same state.
func pass[R any](t *Tx, kind string, cmd Command[R]) error {
	if t.parts <= 1 || int(cmd.Shard())%t.parts == t.part {
		saved := t.shard
		t.shard = cmd.Shard()
		_, err := cmd.apply(t)
		t.shard = saved
		return err
	}
	return t.enqueue(kind, cmd)
}

// blocked reports whether either user blocks the other. It reads both
// users' sides, so only read transactions use it; apply uses blockedOn.
// Read transactions first ask, once per user, whether a takes part in any
// block at all, which for most viewers saves two lookups per item.
func (t *Tx) blocked(a, b ID) bool {
	if a == 0 || b == 0 {
		return false
	}
	return t.blockedOn(a, b) || t.blockedOn(b, a)
}

// blockedOn reports whether owner blocks other or other blocks owner, as
// owner's partition knows it.
func (t *Tx) blockedOn(owner, other ID) bool {
	if owner == 0 || other == 0 {
		return false
	}
	if t.blockFree != nil {
		free, ok := t.blockFree[owner]
		if !ok {
			free = !t.hasPrefix(bBlocks, owner) && !t.hasPrefix(bBlockedBy, owner)
			t.blockFree[owner] = free
		}
		if free {
			return false
		}
	}
	return t.has(bBlocks, pair(owner, other)) || t.has(bBlockedBy, pair(owner, other))
}

// hasPrefix reports whether any key of bucket starts with owner.
func (t *Tx) hasPrefix(bucket []byte, owner ID) bool {
	k, _ := t.at(bucket, owner.key()).Cursor().Seek(owner.key())
	return k != nil && string(k[:8]) == string(owner.key())
}

// follows reports whether follower follows followee, as the follower's
// partition knows it.
func (t *Tx) follows(follower, followee ID) bool {
	return follower != 0 && t.has(bFollowing, pair(follower, followee))
}

// followedBy reports whether follower follows owner, as owner's partition
// knows it.
func (t *Tx) followedBy(owner, follower ID) bool {
	return follower != 0 && t.has(bFollowers, pair(owner, follower))
}

// followState returns the follower's side of an edge.
func (t *Tx) followState(follower, target ID) FollowState {
	switch {
	case t.follows(follower, target):
		return StateFollowing
	case t.has(bRequested, pair(follower, target)):
		return StateRequested
	}
	return StateNone
}

// setFollowState moves the follower's side of an edge to state, counts
// it, and queues the sync that brings the followee's side along (telling
// the followee, if notify, of a new follow or request). Leaving
// "following" queues the unfan job that takes the followee's posts out of
// the follower's feed. With resync, the sync is queued even when the state
// does not change (the followee's side may have moved on its own).
func (t *Tx) setFollowState(follower, target ID, state FollowState, notify, resync bool) error {
	cur := t.followState(follower, target)
	if cur == state && !resync {
		return nil
	}
	if cur != state {
		switch cur {
		case StateFollowing:
			if err := t.unmark(bFollowing, pair(follower, target)); err != nil {
				return err
			}
			if err := t.count(follower, func(c *Counts) { c.Following-- }); err != nil {
				return err
			}
			if err := t.enqueue(JobUnfan, PairJob{User: follower, Author: target}); err != nil {
				return err
			}
		case StateRequested:
			if err := t.unmark(bRequested, pair(follower, target)); err != nil {
				return err
			}
		}
		switch state {
		case StateFollowing:
			if err := t.mark(bFollowing, pair(follower, target), msValue(t.now)); err != nil {
				return err
			}
			if err := t.count(follower, func(c *Counts) { c.Following++ }); err != nil {
				return err
			}
		case StateRequested:
			if err := t.mark(bRequested, pair(follower, target), msValue(t.now)); err != nil {
				return err
			}
		}
	}
	v, err := t.NewID(t.shard)
	if err != nil {
		return err
	}
	if err := t.setVersion(follower, verFollow, target, v); err != nil {
		return err
	}
	return pass(t, JobFollowSync, SyncFollow{Meta: Meta{At: t.now}, Follower: follower, Target: target, State: state, Version: v, Notify: notify && cur != state})
}

// dropFollower removes the followee's side of a follow or request from
// owner's partition, and asks the follower's side to drop the edge as
// well (if it has not moved on since version v).
func (t *Tx) dropFollower(owner, follower ID) error {
	if err := t.unmark(bRequests, pair(owner, follower)); err != nil {
		return err
	}
	if err := t.removeFollower(owner, follower); err != nil {
		return err
	}
	return pass(t, JobFollowDrop, DropFollow{Meta: Meta{At: t.now}, Follower: follower, Target: owner, Version: t.version(owner, verFollowed, follower)})
}

// count changes a user's counters and keeps the celebrity set current.
func (t *Tx) count(id ID, fn func(*Counts)) error {
	u, err := t.user(id)
	if err != nil {
		return err
	}
	fn(&u.Counts)
	if int(u.Counts.Followers) >= t.config().CelebrityAt {
		err = t.mark(bCelebs, id.key(), nil)
	} else {
		err = t.unmark(bCelebs, id.key())
	}
	if err != nil {
		return err
	}
	return t.put(bUsers, id.key(), u)
}

// Follow makes Follower follow Target, or asks to when Target is private.
// Its result is the new state of the follower's side (the followee's side
// follows through the outbox). It fails with ErrInvalid when following
// oneself, ErrNotFound for an unknown or suspended account or one that
// blocks, or is blocked by, the follower, and ErrForbidden when the
// follower is suspended.
type Follow struct {
	Meta
	FollowerID ID `json:"follower_id"`
	TargetID   ID `json:"target_id"`
	// TargetPrivate is resolved before submission from the target's
	// account: a private account is asked, not followed.
	TargetPrivate bool `json:"target_private,omitempty"`
}

// Shard returns the follower's shard.
func (c Follow) Shard() uint16 { return c.FollowerID.Shard() }

func (c Follow) prepare(_ context.Context, s *Store) (Command[FollowState], func(FollowState, error) (FollowState, error), error) {
	if c.FollowerID == c.TargetID {
		return nil, nil, Invalid("username", "You can't follow yourself.")
	}
	if err := s.synced(c.TargetID); err != nil { // its privacy as of now
		return nil, nil, err
	}
	target, err := s.User(c.TargetID)
	if err != nil || target.Suspended {
		return nil, nil, Errorf(ErrNotFound, "That account was not found.")
	}
	c.TargetPrivate = target.Private
	return c, nil, nil
}

func (c Follow) apply(tx *Tx) (FollowState, error) {
	if c.FollowerID == c.TargetID {
		return StateNone, Invalid("username", "You can't follow yourself.")
	}
	if tx.blockedOn(c.FollowerID, c.TargetID) {
		return StateNone, Errorf(ErrNotFound, "That account was not found.")
	}
	if _, err := tx.user(c.FollowerID); err != nil {
		return StateNone, err
	}
	if err := tx.mayAct(c.FollowerID); err != nil {
		return StateNone, err
	}
	if cur := tx.followState(c.FollowerID, c.TargetID); cur != StateNone {
		return cur, nil
	}
	state := StateFollowing
	if c.TargetPrivate {
		state = StateRequested
	}
	return state, tx.setFollowState(c.FollowerID, c.TargetID, state, true, false)
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
	return StateNone, tx.setFollowState(c.FollowerID, c.TargetID, StateNone, false, false)
}

// AnswerRequest approves or denies a pending follow request to Target.
// An approval counts the follower at once; the requester's side follows
// through the outbox. It fails with ErrNotFound when there is no such
// request.
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
	approve := c.Approve && !tx.blockedOn(c.TargetID, c.RequesterID)
	if approve {
		if err := tx.addFollower(c.TargetID, c.RequesterID); err != nil {
			return struct{}{}, err
		}
	}
	return struct{}{}, pass(tx, JobFollowAnswer, AnswerFollow{Meta: Meta{At: tx.now}, Follower: c.RequesterID, Target: c.TargetID, Approve: approve})
}

// addFollower counts a new follower on owner's side (unless the follower
// is suspended: a suspended account's follows are not counted).
func (t *Tx) addFollower(owner, follower ID) error {
	if t.followedBy(owner, follower) {
		return nil
	}
	if err := t.mark(bFollowers, pair(owner, follower), msValue(t.now)); err != nil {
		return err
	}
	if err := t.mark(bFollowersBy, pair(follower, owner), nil); err != nil {
		return err
	}
	if t.hidden(follower) {
		return nil
	}
	return t.count(owner, func(c *Counts) { c.Followers++ })
}

// SyncFollow brings the followee's side of a follow to the state the
// follower's side has at Version. An older or repeated version changes
// nothing. A follow of an account that blocks or is blocked by the
// follower, or that is deleted, is refused: the followee's side drops it
// and tells the follower's side.
type SyncFollow struct {
	Meta
	Follower ID          `json:"follower"`
	Target   ID          `json:"target"`
	State    FollowState `json:"state"`
	Version  ID          `json:"version"`
	Notify   bool        `json:"notify,omitempty"` // tell the target of a new follow or request
}

// Shard returns the followee's shard.
func (c SyncFollow) Shard() uint16 { return c.Target.Shard() }

func (c SyncFollow) apply(tx *Tx) (struct{}, error) {
	if ok, err := tx.newer(c.Target, verFollowed, c.Follower, c.Version); !ok || err != nil {
		return struct{}{}, err
	}
	if c.State != StateNone {
		u, err := tx.user(c.Target)
		if err != nil || u.Deleted || tx.blockedOn(c.Target, c.Follower) {
			return struct{}{}, tx.dropFollower(c.Target, c.Follower)
		}
	}
	req := pair(c.Target, c.Follower)
	switch c.State {
	case StateFollowing:
		if err := tx.unmark(bRequests, req); err != nil {
			return struct{}{}, err
		}
		if err := tx.addFollower(c.Target, c.Follower); err != nil {
			return struct{}{}, err
		}
		// The follower's side follows now (an approval counted the
		// follower earlier): the target's recent posts go to its feed.
		if err := tx.enqueue(JobBackfill, PairJob{User: c.Follower, Author: c.Target}); err != nil {
			return struct{}{}, err
		}
		if c.Notify {
			return struct{}{}, tx.activity(c.Target, ActFollow, c.Follower, 0, 0)
		}
	case StateRequested:
		if err := tx.removeFollower(c.Target, c.Follower); err != nil {
			return struct{}{}, err
		}
		if tx.has(bRequests, req) {
			return struct{}{}, nil
		}
		if err := tx.mark(bRequests, req, msValue(tx.now)); err != nil {
			return struct{}{}, err
		}
		if c.Notify {
			return struct{}{}, tx.activity(c.Target, ActFollowRequest, c.Follower, 0, 0)
		}
	default:
		if err := tx.unmark(bRequests, req); err != nil {
			return struct{}{}, err
		}
		return struct{}{}, tx.removeFollower(c.Target, c.Follower)
	}
	return struct{}{}, nil
}

// removeFollower uncounts a follower on owner's side, if there is one.
func (t *Tx) removeFollower(owner, follower ID) error {
	if !t.followedBy(owner, follower) {
		return nil
	}
	if err := t.unmark(bFollowers, pair(owner, follower)); err != nil {
		return err
	}
	if err := t.unmark(bFollowersBy, pair(follower, owner)); err != nil {
		return err
	}
	if t.hidden(follower) {
		return nil
	}
	return t.count(owner, func(c *Counts) { c.Followers-- })
}

// AnswerFollow tells the follower's side that Target approved or denied
// its request: an approved request becomes a follow, a denied one ends.
// Whatever the follower's side holds by then is synced back, so the
// target's side, which counted an approval at once, agrees with it.
type AnswerFollow struct {
	Meta
	Follower ID   `json:"follower"`
	Target   ID   `json:"target"`
	Approve  bool `json:"approve"`
}

// Shard returns the follower's shard.
func (c AnswerFollow) Shard() uint16 { return c.Follower.Shard() }

func (c AnswerFollow) apply(tx *Tx) (struct{}, error) {
	state := tx.followState(c.Follower, c.Target)
	if state == StateRequested {
		state = StateNone
		if c.Approve && !tx.blockedOn(c.Follower, c.Target) {
			state = StateFollowing
		}
	}
	return struct{}{}, tx.setFollowState(c.Follower, c.Target, state, false, true)
}

// DropFollow ends the follower's side of a follow or request that the
// followee's side refused or ended (a block, a deleted account), unless
// the follower's side has changed since Version: its newer sync is then
// judged again by the followee's side.
type DropFollow struct {
	Meta
	Follower ID `json:"follower"`
	Target   ID `json:"target"`
	Version  ID `json:"version"`
}

// Shard returns the follower's shard.
func (c DropFollow) Shard() uint16 { return c.Follower.Shard() }

func (c DropFollow) apply(tx *Tx) (struct{}, error) {
	if tx.version(c.Follower, verFollow, c.Target) > c.Version {
		return struct{}{}, nil
	}
	return struct{}{}, tx.setFollowState(c.Follower, c.Target, StateNone, false, false)
}

// Block makes Blocker block Blocked: follows both ways and requests both
// ways end, and each one's posts leave the other's feed. Blocking twice
// changes nothing. It fails with ErrInvalid for oneself and ErrNotFound
// for an unknown account.
type Block struct {
	Meta
	BlockerID ID `json:"blocker_id"`
	BlockedID ID `json:"blocked_id"`
}

// Shard returns the blocker's shard.
func (c Block) Shard() uint16 { return c.BlockerID.Shard() }

func (c Block) prepare(_ context.Context, s *Store) (Command[struct{}], func(struct{}, error) (struct{}, error), error) {
	if c.BlockerID == c.BlockedID {
		return nil, nil, Invalid("username", "You can't block yourself.")
	}
	if _, err := s.User(c.BlockedID); err != nil {
		return nil, nil, err
	}
	return c, nil, nil
}

func (c Block) apply(tx *Tx) (struct{}, error) {
	if c.BlockerID == c.BlockedID {
		return struct{}{}, Invalid("username", "You can't block yourself.")
	}
	if tx.has(bBlocks, pair(c.BlockerID, c.BlockedID)) {
		return struct{}{}, nil
	}
	if err := tx.mark(bBlocks, pair(c.BlockerID, c.BlockedID), msValue(tx.now)); err != nil {
		return struct{}{}, err
	}
	// The blocker's follow of the blocked account ends; so does the
	// blocked account's follow of the blocker, on this side now and on
	// the other side through the block's sync.
	if err := tx.setFollowState(c.BlockerID, c.BlockedID, StateNone, false, false); err != nil {
		return struct{}{}, err
	}
	if err := tx.unmark(bRequests, pair(c.BlockerID, c.BlockedID)); err != nil {
		return struct{}{}, err
	}
	if err := tx.removeFollower(c.BlockerID, c.BlockedID); err != nil {
		return struct{}{}, err
	}
	return struct{}{}, tx.syncBlock(c.BlockerID, c.BlockedID, true)
}

// syncBlock versions the blocker's side of a block and queues its sync.
// An unblock's sync names the version of the block it lifts.
func (t *Tx) syncBlock(blocker, blocked ID, blocking bool) error {
	var lifts ID
	if !blocking {
		lifts = t.version(blocker, verBlock, blocked)
	}
	v, err := t.NewID(t.shard)
	if err != nil {
		return err
	}
	if err := t.setVersion(blocker, verBlock, blocked, v); err != nil {
		return err
	}
	return pass(t, JobBlockSync, SyncBlock{Meta: Meta{At: t.now}, Blocker: blocker, Blocked: blocked, Blocking: blocking, Version: v, Lifts: lifts})
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
	if !tx.has(bBlocks, pair(c.BlockerID, c.BlockedID)) {
		return struct{}{}, nil
	}
	if err := tx.unmark(bBlocks, pair(c.BlockerID, c.BlockedID)); err != nil {
		return struct{}{}, err
	}
	return struct{}{}, tx.syncBlock(c.BlockerID, c.BlockedID, false)
}

// SyncBlock brings the blocked account's side of a block to the
// blocker's state at Version: while blocked, it follows and asks to
// follow the blocker no more. An older or repeated version changes
// nothing. An unblock whose block never reached this side (the two syncs
// crossed) ends the follows first, as the block would have: the
// blocker's side ended its half when it blocked.
type SyncBlock struct {
	Meta
	Blocker  ID   `json:"blocker"`
	Blocked  ID   `json:"blocked"`
	Blocking bool `json:"blocking"`
	Version  ID   `json:"version"`
	Lifts    ID   `json:"lifts,omitempty"` // an unblock: the version of the block it lifts
}

// Shard returns the blocked account's shard.
func (c SyncBlock) Shard() uint16 { return c.Blocked.Shard() }

func (c SyncBlock) apply(tx *Tx) (struct{}, error) {
	seen := tx.version(c.Blocked, verBlocked, c.Blocker)
	if ok, err := tx.newer(c.Blocked, verBlocked, c.Blocker, c.Version); !ok || err != nil {
		return struct{}{}, err
	}
	key := pair(c.Blocked, c.Blocker)
	if !c.Blocking {
		if c.Lifts > seen {
			if err := tx.endFollows(c.Blocked, c.Blocker); err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, tx.unmark(bBlockedBy, key)
	}
	if err := tx.mark(bBlockedBy, key, msValue(tx.now)); err != nil {
		return struct{}{}, err
	}
	return struct{}{}, tx.endFollows(c.Blocked, c.Blocker)
}

// endFollows ends, on blocked's side, its follow of or request to
// blocker. Blocker's follow of it, which blocker's side owns, ends by
// that side's own versioned sync (Block ends it there): editing it here
// could undo a newer follow that crossed this sync.
func (t *Tx) endFollows(blocked, blocker ID) error {
	return t.setFollowState(blocked, blocker, StateNone, false, false)
}

// Relationship is how a viewer and another account are connected.
type Relationship struct {
	Following  bool `json:"following"`
	FollowedBy bool `json:"followed_by"`
	Requested  bool `json:"requested"`
	Blocking   bool `json:"blocking"`
	BlockedBy  bool `json:"-"`
}

// Relationship returns how viewer and other are connected, each fact as
// the side that owns it holds it.
func (s *Store) Relationship(viewer, other ID) (Relationship, error) {
	var r Relationship
	if err := s.synced(viewer, other); err != nil {
		return r, err
	}
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
		Requested:  t.has(bRequested, pair(viewer, other)),
		Blocking:   t.has(bBlocks, pair(viewer, other)),
		BlockedBy:  t.has(bBlocks, pair(other, viewer)),
	}
}

// canSeeAccount decides whether viewer (0 for anonymous) may see the
// posts, followers and following of u, from u's own side (so apply may
// ask it in u's partition). It returns ErrNotFound across a block and
// ErrForbidden for a private account the viewer does not follow.
//
// Between the moment one side of an edge changes and the moment the other
// follows, the two sides differ. A read transaction, which reaches both,
// takes the stricter answer: a block on either side hides, and a private
// account is seen only once both sides agree on the follow.
func (t *Tx) canSeeAccount(viewer ID, u *User) error {
	blocked, follows := t.blockedOn(u.ID, viewer), t.followedBy(u.ID, viewer)
	if t.rs != nil {
		blocked = blocked || t.blockedOn(viewer, u.ID)
		follows = follows && t.follows(viewer, u.ID)
	}
	if blocked || (u.Suspended && viewer != u.ID) {
		return Errorf(ErrNotFound, "That account was not found.")
	}
	if u.Private && viewer != u.ID && !follows {
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
	if err := s.synced(u.ID, viewer); err != nil {
		return nil, Relationship{}, err
	}
	if u, err = s.User(u.ID); err != nil {
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
