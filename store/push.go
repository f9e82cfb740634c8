package store

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Web Push: browsers subscribe, and activity is pushed to them through
// the outbox, as each account's preferences allow.

// JobPush sends one push message.
const JobPush = "push" // PushJob

// PushSubscription is one browser's push endpoint and keys (RFC 8291).
type PushSubscription struct {
	ID        ID        `json:"id"`
	UserID    ID        `json:"user_id"`
	Endpoint  string    `json:"endpoint"`
	P256dh    string    `json:"p256dh"`
	Auth      string    `json:"auth"`
	CreatedAt time.Time `json:"created_at"`
}

// PushJob is the payload of a push job: which subscription, and the
// message.
type PushJob struct {
	Sub   ID     `json:"sub"`
	Title string `json:"title"`
	Body  string `json:"body"`
	URL   string `json:"url"`
}

// Preferences are what an account wants pushed.
type Preferences struct {
	// Push lists the activity types that are pushed; nil means all.
	Push []string `json:"push"`
	// Muted accounts' activity is never pushed.
	Muted []ID `json:"muted,omitempty"`
	// QuietFrom and QuietTo ("22:00", "07:00") bound the hours, in the
	// account's time zone (UTCOffset minutes east), when nothing is pushed.
	QuietFrom string `json:"quiet_from,omitempty"`
	QuietTo   string `json:"quiet_to,omitempty"`
	UTCOffset int    `json:"utc_offset,omitempty"`
}

// ActivityTypes are the kinds of activity that can be pushed.
var ActivityTypes = []string{ActLike, ActComment, ActFollow, ActFollowRequest, ActMention}

// Pushes reports whether activity of type typ by actor at t is pushed.
func (p Preferences) Pushes(typ string, actor ID, t time.Time) bool {
	if p.Push != nil && !slices.Contains(p.Push, typ) || slices.Contains(p.Muted, actor) {
		return false
	}
	from, ok1 := clock(p.QuietFrom)
	to, ok2 := clock(p.QuietTo)
	if !ok1 || !ok2 || from == to {
		return true
	}
	local := t.UTC().Add(time.Duration(p.UTCOffset) * time.Minute)
	m := local.Hour()*60 + local.Minute()
	quiet := from <= m && m < to
	if from > to { // across midnight
		quiet = m >= from || m < to
	}
	return !quiet
}

func clock(s string) (int, bool) {
	var h, m int
	if n, _ := fmt.Sscanf(s, "%d:%d", &h, &m); n != 2 || h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, false
	}
	return h*60 + m, true
}

// SavePushSubscription stores (or refreshes) a browser's subscription.
// It fails with ErrInvalid for a malformed endpoint or keys.
type SavePushSubscription struct {
	Meta
	Sub PushSubscription `json:"sub"`
}

// Shard returns the account's shard.
func (c SavePushSubscription) Shard() uint16 { return c.Sub.UserID.Shard() }

func (c SavePushSubscription) apply(tx *Tx) (*PushSubscription, error) {
	s := c.Sub
	u, err := url.Parse(s.Endpoint)
	if err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" || len(s.Endpoint) > 2000 {
		return nil, Invalid("endpoint", "The push endpoint must be an https:// URL.")
	}
	if len(s.P256dh) < 80 || len(s.P256dh) > 100 || len(s.Auth) < 16 || len(s.Auth) > 32 {
		return nil, Invalid("keys", "The subscription's p256dh and auth keys are missing or malformed.")
	}
	var old []ID
	tx.walkOldest(bPushSubs, s.UserID, 0, func(id ID) bool { old = append(old, id); return true })
	for _, id := range old {
		o := new(PushSubscription)
		if tx.get(bPushSubData, id.key(), o, "") == nil && o.Endpoint == s.Endpoint {
			if err := tx.deletePushSub(o); err != nil {
				return nil, err
			}
		}
	}
	if len(old) >= 20 {
		return nil, Errorf(ErrConflict, "This account has push turned on in 20 browsers already; turn it off in one first.")
	}
	id, err := tx.NewID(c.Shard())
	if err != nil {
		return nil, err
	}
	s.ID, s.CreatedAt = id, tx.now
	if err := tx.mark(bPushSubs, pair(s.UserID, id), nil); err != nil {
		return nil, err
	}
	return &s, tx.put(bPushSubData, id.key(), &s)
}

func (tx *Tx) deletePushSub(s *PushSubscription) error {
	if err := tx.unmark(bPushSubs, pair(s.UserID, s.ID)); err != nil {
		return err
	}
	return tx.unmark(bPushSubData, s.ID.key())
}

// DeletePushSubscription removes a subscription: by its owner (UserID
// set), or because its push service said it is gone (UserID 0).
type DeletePushSubscription struct {
	Meta
	UserID   ID     `json:"user_id,omitempty"`
	SubID    ID     `json:"sub_id,omitempty"`
	Endpoint string `json:"endpoint,omitempty"` // or by endpoint, for its owner
}

// Shard returns the subscription's shard.
func (c DeletePushSubscription) Shard() uint16 { return max(c.SubID, c.UserID).Shard() }

func (c DeletePushSubscription) apply(tx *Tx) (struct{}, error) {
	var subs []*PushSubscription
	if c.SubID != 0 {
		s := new(PushSubscription)
		if err := tx.get(bPushSubData, c.SubID.key(), s, "That push subscription"); err != nil {
			return struct{}{}, err
		}
		subs = append(subs, s)
	} else {
		tx.walkOldest(bPushSubs, c.UserID, 0, func(id ID) bool {
			s := new(PushSubscription)
			if tx.get(bPushSubData, id.key(), s, "") == nil && s.Endpoint == c.Endpoint {
				subs = append(subs, s)
			}
			return true
		})
	}
	for _, s := range subs {
		if c.UserID != 0 && s.UserID != c.UserID {
			return struct{}{}, Errorf(ErrNotFound, "That push subscription was not found.")
		}
		if err := tx.deletePushSub(s); err != nil {
			return struct{}{}, err
		}
	}
	return struct{}{}, nil
}

// PushSubscriptionByID returns a subscription.
func (s *Store) PushSubscriptionByID(id ID) (sub *PushSubscription, err error) {
	sub = new(PushSubscription)
	err = s.view(func(tx *Tx) error { return tx.get(bPushSubData, id.key(), sub, "That push subscription") })
	return sub, err
}

// PushSubscriptions returns an account's subscriptions.
func (s *Store) PushSubscriptions(user ID) ([]*PushSubscription, error) {
	var out []*PushSubscription
	err := s.view(func(tx *Tx) error {
		tx.walkOldest(bPushSubs, user, 0, func(id ID) bool {
			sub := new(PushSubscription)
			if tx.get(bPushSubData, id.key(), sub, "") == nil {
				out = append(out, sub)
			}
			return true
		})
		return nil
	})
	return out, err
}

// UpdatePreferences replaces an account's preferences. It fails with
// ErrInvalid for an unknown activity type or a malformed quiet hour.
type UpdatePreferences struct {
	Meta
	UserID ID          `json:"user_id"`
	Prefs  Preferences `json:"prefs"`
}

// Shard returns the account's shard.
func (c UpdatePreferences) Shard() uint16 { return c.UserID.Shard() }

func (c UpdatePreferences) apply(tx *Tx) (*User, error) {
	u, err := tx.user(c.UserID)
	if err != nil {
		return nil, err
	}
	p := c.Prefs
	for _, t := range p.Push {
		if !slices.Contains(ActivityTypes, t) {
			return nil, Invalid("push", "Push can be turned on for %s.", strings.Join(ActivityTypes, ", "))
		}
	}
	if p.Push == nil {
		p.Push = []string{}
	}
	for _, q := range []string{p.QuietFrom, p.QuietTo} {
		if _, ok := clock(q); q != "" && !ok {
			return nil, Invalid("quiet_from", "Quiet hours are times like 22:00 and 07:00.")
		}
	}
	if p.UTCOffset < -14*60 || p.UTCOffset > 14*60 {
		return nil, Invalid("utc_offset", "The time zone offset is between −14:00 and +14:00.")
	}
	if len(p.Muted) > 1000 {
		return nil, Invalid("muted", "You can mute up to 1,000 accounts.")
	}
	u.Prefs, u.UpdatedAt = &p, tx.now
	return u, tx.put(bUsers, u.ID.key(), u)
}

// queuePush queues a push message to each of the recipient's browsers,
// if their preferences allow this activity now.
func (tx *Tx) queuePush(a *Activity, actorName string) error {
	var subs []ID
	tx.walkOldest(bPushSubs, a.UserID, 0, func(id ID) bool { subs = append(subs, id); return true })
	if len(subs) == 0 {
		return nil
	}
	u, err := tx.user(a.UserID)
	if err != nil {
		return nil
	}
	prefs := Preferences{}
	if u.Prefs != nil {
		prefs = *u.Prefs
	}
	if !prefs.Pushes(a.Type, a.ActorID, a.CreatedAt) {
		return nil
	}
	if actorName == "" || tx.hidden(a.ActorID) {
		return nil // a suspended account's doings are shown to no one
	}
	body := map[string]string{ActLike: "liked your photo.", ActComment: "commented on your photo.", ActFollow: "started following you.",
		ActFollowRequest: "asked to follow you.", ActMention: "mentioned you."}[a.Type]
	link := "/u/" + actorName
	if a.PostID != 0 {
		link = "/p/" + a.PostID.String()
	}
	for _, id := range subs {
		if err := tx.enqueue(JobPush, PushJob{Sub: id, Title: "aperture", Body: actorName + " " + body, URL: link}); err != nil {
			return err
		}
	}
	return nil
}
