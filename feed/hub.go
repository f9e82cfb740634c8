package feed

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"aperture/store"
)

// Hub carries live events to the people they concern: new activity and
// new posts in their home feeds, for GET /api/v1/stream. Each account that
// has been connected recently keeps its last RingSize events, so a client
// that reconnects with the ID of the last event it saw gets exactly the
// ones it missed; an ID from before a restart (another epoch) or older than
// the ring gets a fresh snapshot instead.
type Hub struct {
	// Relay, if set, carries published events to every node's Deliver.
	Relay func(user store.ID, typ, data string)

	epoch string
	mu    sync.Mutex
	seq   uint64
	users map[store.ID]*userStream
	now   func() time.Time
}

// Event is one live event.
type Event struct {
	ID   string // epoch-seq, for Last-Event-ID
	Type string // activity, post
	Data string // JSON
	seq  uint64
}

// RingSize is how many events an account keeps for reconnects.
const RingSize = 128

// keepFor is how long after its last client leaves an account's events
// are still kept for a reconnect.
const keepFor = 10 * time.Minute

type userStream struct {
	ring    []Event // oldest first, at most RingSize
	subs    map[chan Event]bool
	dropped uint64 // highest seq that fell out of the ring
	left    time.Time
}

// NewHub returns an empty hub whose event IDs carry a new epoch.
func NewHub() *Hub {
	return &Hub{epoch: strconv.FormatInt(time.Now().UnixNano(), 36), users: map[store.ID]*userStream{}, now: time.Now}
}

// Publish sends an event to the account's clients and keeps it for
// reconnects, if the account has been connected recently; otherwise it
// does nothing (a later connection starts from a snapshot). With Relay
// set, the event goes there instead (in a cluster, to every node, which
// each Deliver it to their own clients).
func (h *Hub) Publish(user store.ID, typ, data string) {
	if h.Relay != nil {
		h.Relay(user, typ, data)
		return
	}
	h.Deliver(user, typ, data)
}

// Deliver sends an event to this process's clients of the account (see
// Publish).
func (h *Hub) Deliver(user store.ID, typ, data string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	u := h.users[user]
	if u == nil {
		return
	}
	if len(u.subs) == 0 && h.now().Sub(u.left) > keepFor {
		delete(h.users, user)
		return
	}
	h.seq++
	ev := Event{ID: fmt.Sprintf("%s-%d", h.epoch, h.seq), Type: typ, Data: data, seq: h.seq}
	if len(u.ring) == RingSize {
		u.dropped = u.ring[0].seq
		u.ring = u.ring[1:]
	}
	u.ring = append(u.ring, ev)
	for ch := range u.subs {
		select {
		case ch <- ev:
		default: // a client too slow to keep up misses live events; it reconnects
		}
	}
}

// Subscribe registers a client of the account. With the ID of the last
// event the client saw, it returns the events after it; resumed is false
// when that cannot be done exactly (no ID, another epoch, or events lost
// from the ring), and the client should start from a snapshot. Call the
// returned cancel when the client leaves.
func (h *Hub) Subscribe(user store.ID, lastID string) (ch chan Event, missed []Event, resumed bool, cancel func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	u := h.users[user]
	if u == nil {
		// Events before now were not kept for this account.
		u = &userStream{subs: map[chan Event]bool{}, dropped: h.seq}
		h.users[user] = u
	}
	ch = make(chan Event, 64)
	u.subs[ch] = true
	if epoch, s, ok := strings.Cut(lastID, "-"); ok && epoch == h.epoch {
		if seq, err := strconv.ParseUint(s, 10, 64); err == nil && seq >= u.dropped && seq <= h.seq {
			resumed = true
			for _, ev := range u.ring {
				if ev.seq > seq {
					missed = append(missed, ev)
				}
			}
		}
	}
	return ch, missed, resumed, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(u.subs, ch)
		if len(u.subs) == 0 {
			u.left = h.now()
		}
	}
}

// Connected returns how many clients are connected.
func (h *Hub) Connected() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, u := range h.users {
		n += len(u.subs)
	}
	return n
}
