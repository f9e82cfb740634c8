package auth

import (
	"sync"
	"time"

	"aperture/store"
)

// sessionCache answers "is this session still open?" from memory on every
// request. A miss reads the session once from the store; logout and
// refresh-token reuse update the entry at once, so a revoked session's
// access token stops working immediately.
type sessionCache struct {
	mu   sync.RWMutex
	m    map[store.ID]sessionEntry
	max  int
	load func(store.ID) (*store.Session, error)
}

type sessionEntry struct {
	user    store.ID
	created time.Time
	expires time.Time
	revoked bool
}

func entryOf(s *store.Session) sessionEntry {
	return sessionEntry{user: s.UserID, created: s.CreatedAt, expires: s.ExpiresAt, revoked: !s.RevokedAt.IsZero()}
}

func newSessionCache(max int, load func(store.ID) (*store.Session, error)) *sessionCache {
	return &sessionCache{m: make(map[store.ID]sessionEntry), max: max, load: load}
}

// open reports whether session sid of user is open at now, and when it
// began.
func (c *sessionCache) open(sid, user store.ID, now time.Time) (created time.Time, ok bool) {
	c.mu.RLock()
	e, ok := c.m[sid]
	c.mu.RUnlock()
	if !ok {
		s, err := c.load(sid)
		if err != nil {
			return time.Time{}, false
		}
		e = entryOf(s)
		c.put(sid, e)
	}
	return e.created, !e.revoked && e.user == user && now.Before(e.expires)
}

// end records that a session ended elsewhere: it stays ended here even
// before this node's store has applied its end (a session never starts
// again).
func (c *sessionCache) end(sid store.ID) {
	c.mu.Lock()
	e := c.m[sid]
	e.revoked = true
	c.m[sid] = e
	c.mu.Unlock()
}

// set records the session's current state.
func (c *sessionCache) set(s *store.Session) {
	c.put(s.ID, entryOf(s))
}

func (c *sessionCache) put(sid store.ID, e sessionEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[sid]; !ok && len(c.m) >= c.max {
		for k := range c.m { // map order is random: evict one entry
			delete(c.m, k)
			break
		}
	}
	c.m[sid] = e
}
