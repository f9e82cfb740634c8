package auth

import (
	"strings"
	"sync"
	"time"
)

// verified remembers access tokens whose signature and claims were
// checked, until they expire, so that a client's repeated requests do not
// pay for parsing and HMAC-verifying the same bytes each time (about a
// sixth of a feed request). The session is still checked on every
// request; only the token's own validity is remembered. The map is
// emptied when full.
type verified struct {
	mu  sync.RWMutex
	m   map[string]Claims
	max int
}

func (v *verified) get(token string, now time.Time) (Claims, bool) {
	v.mu.RLock()
	c, ok := v.m[token]
	v.mu.RUnlock()
	return c, ok && now.Before(c.Expires)
}

func (v *verified) put(token string, c Claims) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.m) >= v.max {
		clear(v.m)
	}
	v.m[strings.Clone(token)] = c // the caller's string may point into a reused buffer
}
