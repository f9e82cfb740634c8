package store

import (
	"context"
	"time"
)

// Activity types.
const (
	ActLike          = "like"
	ActComment       = "comment"
	ActFollow        = "follow"
	ActFollowRequest = "follow_request"
	ActMention       = "mention"
)

// Activity is one thing that happened to a user: someone liked, commented,
// followed, asked to follow or mentioned them.
type Activity struct {
	ID        ID        `json:"id"`
	UserID    ID        `json:"user_id"` // who is told
	Type      string    `json:"type"`
	ActorID   ID        `json:"actor_id"`
	PostID    ID        `json:"post_id,omitempty"`
	CommentID ID        `json:"comment_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// activity queues an activity for user (on user's shard, through the
// outbox). Telling someone about their own action is skipped.
func (t *Tx) activity(user ID, typ string, actor, post, comment ID) error {
	if user == actor {
		return nil
	}
	return t.enqueue(JobActivity, Activity{UserID: user, Type: typ, ActorID: actor, PostID: post, CommentID: comment, CreatedAt: t.now})
}

// AddActivity records an activity in the recipient's list. The outbox's
// activity jobs run it: the activity's ID is minted here, on the
// recipient's shard, and Source (the job that carried it) is remembered,
// so a job that runs twice records it once. An actor the recipient
// blocks, or is blocked by, is dropped.
type AddActivity struct {
	Meta
	Activity Activity `json:"activity"`
	Source   ID       `json:"source,omitempty"`
	// ActorName is resolved before submission, for the push message.
	ActorName string `json:"actor_name,omitempty"`
}

// Shard returns the recipient's shard.
func (c AddActivity) Shard() uint16 { return c.Activity.UserID.Shard() }

func (c AddActivity) prepare(_ context.Context, s *Store) (Command[struct{}], func(struct{}, error) (struct{}, error), error) {
	if u, err := s.User(c.Activity.ActorID); err == nil {
		c.ActorName = u.Username
	}
	return c, nil, nil
}

func (c AddActivity) apply(tx *Tx) (struct{}, error) {
	a := c.Activity
	if tx.blockedOn(a.UserID, a.ActorID) {
		return struct{}{}, nil
	}
	if _, err := tx.user(a.UserID); err != nil {
		return struct{}{}, nil // the account is gone
	}
	if c.Source != 0 {
		if tx.has(bActSource, pair(a.UserID, c.Source)) {
			return struct{}{}, nil // recorded (and pushed) already: the job ran twice
		}
		if err := tx.mark(bActSource, pair(a.UserID, c.Source), nil); err != nil {
			return struct{}{}, err
		}
	}
	id, err := tx.NewID(c.Shard())
	if err != nil {
		return struct{}{}, err
	}
	a.ID = id
	if err := tx.put(bActivity, pair(a.UserID, a.ID), &a); err != nil {
		return struct{}{}, err
	}
	return struct{}{}, tx.queuePush(&a, c.ActorName)
}

// MarkActivityRead marks every activity up to Upto (or all, if 0) read.
type MarkActivityRead struct {
	Meta
	UserID ID `json:"user_id"`
	Upto   ID `json:"upto"`
}

// Shard returns the user's shard.
func (c MarkActivityRead) Shard() uint16 { return c.UserID.Shard() }

func (c MarkActivityRead) apply(tx *Tx) (struct{}, error) {
	u, err := tx.user(c.UserID)
	if err != nil {
		return struct{}{}, err
	}
	upto := c.Upto
	if upto == 0 {
		tx.walkNewest(bActivity, c.UserID, 0, func(id ID) bool { upto = id; return false })
	}
	if upto > u.ActivitySeen {
		u.ActivitySeen = upto
		return struct{}{}, tx.put(bUsers, u.ID.key(), u)
	}
	return struct{}{}, nil
}

// ActivityGroup is activities of one type on one post (or, for follows,
// of one type) within a day, newest first: "alice and 3 others liked your
// photo".
type ActivityGroup struct {
	ID        ID // the newest activity's ID: the page cursor
	Type      string
	Actors    []ID // newest first, at most 3
	Count     int  // all actors in the group
	PostID    ID
	CommentID ID
	CreatedAt time.Time
	Unread    bool
}

// ActivityPage returns a page of the user's activity, grouped, and the
// number of unread activities (at most 99). Activities of suspended
// accounts and of accounts the user blocks or is blocked by are left out
// of both.
func (s *Store) ActivityPage(user ID, p Page) (groups []ActivityGroup, next ID, unread int, err error) {
	p = p.norm()
	err = s.view(func(tx *Tx) error {
		u, err := tx.user(user)
		if err != nil {
			return err
		}
		unread = tx.unread(u)
		index := map[[2]any]int{}
		tx.walkNewest(bActivity, user, p.Before, func(id ID) bool {
			a := new(Activity)
			if tx.get(bActivity, pair(user, id), a, "activity") != nil || !tx.shown(user, a) {
				return true
			}
			day := a.CreatedAt.Truncate(24 * time.Hour)
			key := [2]any{a.Type + "|" + a.PostID.String(), day}
			if i, ok := index[key]; ok && a.Type != ActComment && a.Type != ActMention {
				g := &groups[i]
				g.Count++
				if len(g.Actors) < 3 && !containsID(g.Actors, a.ActorID) {
					g.Actors = append(g.Actors, a.ActorID)
				}
				return true
			}
			if len(groups) == p.Limit {
				next = groups[len(groups)-1].ID
				return false
			}
			index[key] = len(groups)
			groups = append(groups, ActivityGroup{ID: id, Type: a.Type, Actors: []ID{a.ActorID}, Count: 1,
				PostID: a.PostID, CommentID: a.CommentID, CreatedAt: a.CreatedAt, Unread: id > u.ActivitySeen})
			return true
		})
		return nil
	})
	return groups, next, unread, err
}

func containsID(ids []ID, id ID) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}

// UnreadActivity returns how many of the user's activities are unread,
// at most 99 (as ActivityPage counts them), or ErrNotFound for an unknown
// user.
func (s *Store) UnreadActivity(user ID) (n int, err error) {
	err = s.view(func(tx *Tx) error {
		u, err := tx.user(user)
		if err == nil {
			n = tx.unread(u)
		}
		return err
	})
	return n, err
}

func (tx *Tx) unread(u *User) (n int) {
	walked := 0
	tx.walkNewest(bActivity, u.ID, 0, func(id ID) bool {
		if walked++; id <= u.ActivitySeen || n == 99 || walked > 1000 {
			return false
		}
		a := new(Activity)
		if tx.get(bActivity, pair(u.ID, id), a, "activity") == nil && tx.shown(u.ID, a) {
			n++
		}
		return true
	})
	return n
}

// shown reports whether an activity is shown to user: its actor is
// neither suspended nor on either side of a block with the user.
func (tx *Tx) shown(user ID, a *Activity) bool {
	return !tx.hidden(a.ActorID) && !tx.blocked(user, a.ActorID)
}
