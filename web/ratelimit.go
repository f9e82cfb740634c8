package web

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/time/rate"

	"aperture/store"
)

// keyedLimiter is a token bucket per key (x/time/rate): Max events per
// Window, refilled smoothly. Idle keys are swept so memory stays bounded
// by the keys active in the last window.
type keyedLimiter struct {
	max    int
	window time.Duration
	mu     sync.Mutex
	m      map[string]*bucket
	swept  time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newKeyedLimiter(max int, window time.Duration) *keyedLimiter {
	return &keyedLimiter{max: max, window: window, m: make(map[string]*bucket)}
}

// take spends one token for key at now. It returns whether the event is
// allowed, the tokens left, and how long until one is available.
func (l *keyedLimiter) take(key string, now time.Time) (ok bool, left int, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > l.window {
		for k, b := range l.m {
			if now.Sub(b.seen) > l.window {
				delete(l.m, k)
			}
		}
		l.swept = now
	}
	b, found := l.m[key]
	if !found {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(float64(l.max)/l.window.Seconds()), l.max)}
		l.m[key] = b
	}
	b.seen = now
	if b.lim.AllowN(now, 1) {
		return true, int(b.lim.TokensAt(now)), 0
	}
	r := b.lim.ReserveN(now, 1)
	wait = r.DelayFrom(now)
	r.CancelAt(now)
	return false, 0, wait
}

// pairLimiter is a token bucket per client IP and one per user (a
// username for sign-in attempts, an ID for actions). For sign-up, log-in
// and refresh it keeps one address, or a botnet aimed at one account,
// from guessing passwords quickly; for actions it keeps one account, or
// one address, from flooding the instance. The address buckets are this
// process's; the user's budget of kind is kept by accounts (in a
// cluster, by the node that owns the account's partition).
type pairLimiter struct {
	kind           string
	perIP, perUser int
	byIP           *keyedLimiter
	accounts       AccountLimiter
	log            *slog.Logger
	tooMany        string // the sentence's start: "Too many attempts"
}

func newPairLimiter(kind string, perIP, perUser int, window time.Duration, accounts AccountLimiter, log *slog.Logger, tooMany string) *pairLimiter {
	return &pairLimiter{kind: kind, perIP: perIP, perUser: perUser, byIP: newKeyedLimiter(perIP, window), accounts: accounts, log: log, tooMany: tooMany}
}

// take spends a token of the client's IP and of user (if any), whose
// account lives on shard. Over either limit it returns a 429 Problem
// with Retry-After. It sets X-RateLimit-Limit/Remaining (and Reset) for
// the tighter bucket.
func (l *pairLimiter) take(c *fiber.Ctx, user string, shard uint16) *Problem {
	limit := l.perIP
	ok, left, wait := l.byIP.take(clientIP(c), time.Now())
	if user != "" && ok {
		uok, uleft, uwait, err := l.accounts.Take(c.UserContext(), l.kind, shard, user)
		switch {
		case err != nil:
			l.log.Warn("rate limit: the account's budget could not be asked; let through", "kind", l.kind, "error", err)
		case !uok || uleft < left:
			ok, wait, limit, left = uok, uwait, l.perUser, uleft
		}
	}
	c.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	c.Set("X-RateLimit-Remaining", strconv.Itoa(left))
	if ok {
		return nil
	}
	secs := int(math.Ceil(wait.Seconds()))
	c.Set("X-RateLimit-Reset", strconv.Itoa(secs))
	c.Set("Retry-After", strconv.Itoa(secs))
	unit := "seconds"
	if secs == 1 {
		unit = "second"
	}
	p, _ := newProblem(http.StatusTooManyRequests, fmt.Sprintf("%s; wait %d %s and try again.", l.tooMany, secs, unit))
	p.retryAfter = secs
	return p
}

// limitSignIn limits the API's sign-up, log-in and refresh attempts (its
// POSTs) per address and per username: the canonical form of the JSON
// body's username (store.UsernameKey), the very key its account is found
// by, so no way of writing a name escapes that name's bucket. A body over
// the API's JSON limit, or one that is not JSON, counts against the
// address alone: the API refuses it before looking any account up.
func (s *Server) limitSignIn(c *fiber.Ctx) error {
	if c.Method() != http.MethodPost {
		return c.Next()
	}
	name := usernameIn(c.Body(), s.cfg.MaxJSONBytes)
	if p := s.limits.take(c, name, store.ShardForUsername(name)); p != nil {
		return writeProblem(c, p)
	}
	return c.Next()
}

// usernameIn returns the canonical username (store.UsernameKey) of a JSON
// body of at most max bytes, or "".
func usernameIn(body []byte, max int64) string {
	if len(body) == 0 || int64(len(body)) > max {
		return ""
	}
	var v struct {
		Username string `json:"username"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	return store.UsernameKey(v.Username)
}
