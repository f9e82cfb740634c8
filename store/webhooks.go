package store

import (
	"cmp"
	"context"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Real-time subscriptions: a program asks to be told, at a callback URL,
// of each new post with a hashtag, by an account, or near a place.

// Job kinds of subscriptions.
const (
	JobWebhookMatch   = "webhook_match"   // IndexJob{ID: post}: find the subscriptions a new post matches
	JobWebhookDeliver = "webhook_deliver" // Delivery: send one notification
)

// Subscription objects and states.
const (
	SubTag  = "tag"
	SubUser = "user"
	SubGeo  = "geo"

	SubActive   = "active"
	SubDisabled = "disabled"
)

// MaxSubFailures is how many deliveries in a row may fail before a
// subscription is disabled.
const MaxSubFailures = 8

// Subscription is one callback registration.
type Subscription struct {
	ID          ID        `json:"id"`
	OwnerID     ID        `json:"owner_id"`
	Object      string    `json:"object"` // tag, user, geo
	Tag         string    `json:"tag,omitempty"`
	UserID      ID        `json:"user_id,omitempty"`
	Lat         float64   `json:"lat,omitempty"`
	Lon         float64   `json:"lon,omitempty"`
	RadiusKm    float64   `json:"radius_km,omitempty"`
	CallbackURL string    `json:"callback_url"`
	Secret      string    `json:"secret"` // signs every delivery (HMAC-SHA256)
	Status      string    `json:"status"`
	Failures    int       `json:"failures"` // deliveries failed in a row
	LastError   string    `json:"last_error,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// Delivery is the payload of a delivery job.
type Delivery struct {
	Sub  ID `json:"sub"`
	Post ID `json:"post"`
}

// Matches reports whether the subscription asks for p.
func (s *Subscription) Matches(p *Post) bool {
	switch s.Object {
	case SubTag:
		for _, t := range p.Tags {
			if t == s.Tag {
				return true
			}
		}
	case SubUser:
		return p.AuthorID == s.UserID
	case SubGeo:
		return p.Location != nil && DistanceKm(s.Lat, s.Lon, p.Location.Lat, p.Location.Lon) <= s.RadiusKm
	}
	return false
}

// CreateSubscription stores a subscription whose callback has already
// answered the verification handshake (the caller did it: commands do no
// network I/O). It fails with ErrInvalid for a bad object or URL, and
// ErrNotFound for an account the owner cannot see.
type CreateSubscription struct {
	Meta
	Sub Subscription `json:"sub"`
}

// Shard returns the owner's shard.
func (c CreateSubscription) Shard() uint16 { return c.Sub.OwnerID.Shard() }

// prepare checks that the owner may see the account a user subscription
// names, which lives in that account's partition.
func (c CreateSubscription) prepare(_ context.Context, s *Store) (Command[*Subscription], func(*Subscription, error) (*Subscription, error), error) {
	if c.Sub.Object == SubUser {
		err := s.view(func(tx *Tx) error {
			u, err := tx.user(c.Sub.UserID)
			if err != nil {
				return err
			}
			return tx.canSeeAccount(c.Sub.OwnerID, u)
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return c, nil, nil
}

func (c CreateSubscription) apply(tx *Tx) (*Subscription, error) {
	s := c.Sub
	if err := CheckCallbackURL(s.CallbackURL); err != nil {
		return nil, err
	}
	switch s.Object {
	case SubTag:
		s.Tag = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(s.Tag), "#"))
		if s.Tag == "" || len(s.Tag) > 100 {
			return nil, Invalid("tag", "Name the hashtag to follow.")
		}
	case SubUser:
		if s.UserID == 0 {
			return nil, Invalid("user_id", "Say which account to follow.")
		}
	case SubGeo:
		if s.Lat < -90 || s.Lat > 90 || s.Lon < -180 || s.Lon > 180 || s.RadiusKm <= 0 || s.RadiusKm > 1000 {
			return nil, Invalid("radius_km", "Give lat (−90..90), lon (−180..180) and a radius of up to 1,000 km.")
		}
	default:
		return nil, Invalid("object", "Subscribe to a tag, a user or a geography.")
	}
	if len(s.Secret) < 16 {
		return nil, Invalid("secret", "The signing secret must have at least 16 characters.")
	}
	n := 0
	tx.bucket(bSubs).ForEach(func(_, v []byte) error {
		o := new(Subscription)
		if decode(v, o) == nil && o.OwnerID == s.OwnerID {
			n++
		}
		return nil
	})
	if n >= 100 {
		return nil, Errorf(ErrConflict, "You have 100 subscriptions, the most one account may have; delete some first.")
	}
	id, err := tx.NewID(c.Shard())
	if err != nil {
		return nil, err
	}
	s.ID, s.Status, s.Failures, s.CreatedAt = id, SubActive, 0, tx.now
	return &s, tx.put(bSubs, id.key(), &s)
}

// CheckCallbackURL accepts absolute http(s) URLs without credentials. It
// says nothing about where the host points: the sender checks that.
func CheckCallbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || len(raw) > 2000 {
		return Invalid("callback_url", "The callback must be an http:// or https:// URL without a user name or password.")
	}
	return nil
}

// SetSubscription enables a subscription again (clearing its failures) or
// disables it. Only its owner may.
type SetSubscription struct {
	Meta
	OwnerID ID   `json:"owner_id"`
	SubID   ID   `json:"sub_id"`
	Enabled bool `json:"enabled"`
}

// Shard returns the subscription's shard.
func (c SetSubscription) Shard() uint16 { return c.SubID.Shard() }

func (c SetSubscription) apply(tx *Tx) (*Subscription, error) {
	s, err := tx.subscription(c.SubID, c.OwnerID)
	if err != nil {
		return nil, err
	}
	s.Status = SubDisabled
	if c.Enabled {
		s.Status, s.Failures, s.LastError = SubActive, 0, ""
	}
	return s, tx.put(bSubs, s.ID.key(), s)
}

// DeleteSubscription removes a subscription. Only its owner may.
type DeleteSubscription struct {
	Meta
	OwnerID ID `json:"owner_id"`
	SubID   ID `json:"sub_id"`
}

// Shard returns the subscription's shard.
func (c DeleteSubscription) Shard() uint16 { return c.SubID.Shard() }

func (c DeleteSubscription) apply(tx *Tx) (struct{}, error) {
	if _, err := tx.subscription(c.SubID, c.OwnerID); err != nil {
		return struct{}{}, err
	}
	return struct{}{}, tx.unmark(bSubs, c.SubID.key())
}

func (tx *Tx) subscription(id, owner ID) (*Subscription, error) {
	s := new(Subscription)
	if err := tx.get(bSubs, id.key(), s, "That subscription"); err != nil {
		return nil, err
	}
	if owner != 0 && s.OwnerID != owner {
		return nil, Errorf(ErrNotFound, "That subscription was not found.")
	}
	return s, nil
}

// Subscriptions returns an owner's subscriptions, or every one when owner
// is 0, in ID order.
func (s *Store) Subscriptions(owner ID) ([]*Subscription, error) {
	var out []*Subscription
	err := s.view(func(tx *Tx) error {
		if owner != 0 {
			tx = tx.on(s.PartitionOf(owner.Shard()))
		}
		return tx.eachPart(func(pt *Tx) error {
			if owner != 0 && pt.part != tx.part {
				return nil
			}
			return pt.bucket(bSubs).ForEach(func(_, v []byte) error {
				sub := new(Subscription)
				if err := decode(v, sub); err != nil {
					return err
				}
				if owner == 0 || sub.OwnerID == owner {
					out = append(out, sub)
				}
				return nil
			})
		})
	})
	slices.SortFunc(out, func(a, b *Subscription) int { return cmp.Compare(a.ID, b.ID) })
	return out, err
}

// Subscription returns one subscription (any owner).
func (s *Store) Subscription(id ID) (sub *Subscription, err error) {
	err = s.view(func(tx *Tx) error { sub, err = tx.subscription(id, 0); return err })
	return sub, err
}

// QueueDeliveries queues one delivery job per active subscription that a
// new post matches and whose owner may see the post. Subscriptions live
// in their owners' partitions, so prepare finds the matching ones in
// every partition; apply queues their deliveries if the post still
// exists.
type QueueDeliveries struct {
	Meta
	PostID ID   `json:"post_id"`
	Subs   []ID `json:"subs,omitempty"` // resolved before submission
}

// Shard returns the post's shard.
func (c QueueDeliveries) Shard() uint16 { return c.PostID.Shard() }

func (c QueueDeliveries) prepare(_ context.Context, s *Store) (Command[int], func(int, error) (int, error), error) {
	c.Subs = nil
	err := s.view(func(tx *Tx) error {
		p, err := tx.post(c.PostID)
		if err != nil {
			return nil // deleted meanwhile
		}
		return tx.eachPart(func(pt *Tx) error {
			return pt.bucket(bSubs).ForEach(func(_, v []byte) error {
				sub := new(Subscription)
				if err := decode(v, sub); err != nil {
					return err
				}
				if sub.Status != SubActive || !sub.Matches(p) {
					return nil
				}
				if _, err := tx.canSeePost(sub.OwnerID, p); err == nil {
					c.Subs = append(c.Subs, sub.ID)
				}
				return nil
			})
		})
	})
	slices.Sort(c.Subs)
	return c, nil, err
}

func (c QueueDeliveries) apply(tx *Tx) (int, error) {
	if !tx.has(bPosts, c.PostID.key()) {
		return 0, nil // deleted meanwhile
	}
	for _, sub := range c.Subs {
		if err := tx.enqueue(JobWebhookDeliver, Delivery{Sub: sub, Post: c.PostID}); err != nil {
			return 0, err
		}
	}
	return len(c.Subs), nil
}

// anySubscription reports whether any partition holds a subscription, so
// that a new post needs matching at all.
func (s *Store) anySubscription() (bool, error) {
	found := false
	err := s.view(func(tx *Tx) error {
		return tx.eachPart(func(pt *Tx) error {
			if k, _ := pt.bucket(bSubs).Cursor().First(); k != nil {
				found = true
			}
			return nil
		})
	})
	return found, err
}

// DeliveryResult records how a delivery went: success clears the
// failures; a failure counts one more, and the subscription is disabled
// after MaxSubFailures in a row. It returns the subscription.
type DeliveryResult struct {
	Meta
	SubID ID     `json:"sub_id"`
	Error string `json:"error,omitempty"`
}

// Shard returns the subscription's shard.
func (c DeliveryResult) Shard() uint16 { return c.SubID.Shard() }

func (c DeliveryResult) apply(tx *Tx) (*Subscription, error) {
	s, err := tx.subscription(c.SubID, 0)
	if err != nil {
		return nil, err
	}
	if c.Error == "" {
		s.Failures, s.LastError = 0, ""
	} else {
		s.Failures++
		s.LastError = c.Error
		if s.Failures >= MaxSubFailures {
			s.Status = SubDisabled
		}
	}
	return s, tx.put(bSubs, s.ID.key(), s)
}
