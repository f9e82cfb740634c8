package web

import (
	"context"
	"math"
	"time"
)

// AccountLimiter keeps the budgets that belong to one account: each
// action's rate per account ID, and the sign-in attempts per canonical
// username. Take spends one token of the budget kind names ("posts",
// "comments", "likes", "follows", "uploads", "reads" or "signin") for
// key, the account's ID or the username; shard is the shard the key's
// account lives on (for a username, store.ShardForUsername of it), which
// a cluster routes by. Take reports whether the token was there, the
// tokens left and, when it was not, how long until one is. A kind
// without a limit always allows. An error means the budget could not be
// asked: the request is let through and the error logged.
//
// On one node NewAccountLimiter counts in this process. In a cluster
// cmd/aperture supplies one that asks the node owning the shard's
// partition, so that an account has one budget however many nodes its
// requests reach. The per-address budgets are never routed: each node
// counts the addresses it sees.
type AccountLimiter interface {
	Take(ctx context.Context, kind string, shard uint16, key string) (ok bool, left int, wait time.Duration, err error)
}

// kindSignIn is the budget of sign-up, log-in and refresh attempts per
// username.
const kindSignIn = "signin"

// accountBuckets is the AccountLimiter of one process: a token bucket per
// key for each limited kind.
type accountBuckets struct {
	byKind map[string]*keyedLimiter
}

// NewAccountLimiter returns the per-account budgets of cfg (its Limits
// and AuthPerUser per AuthWindow, defaults filled in), counted in this
// process. In a cluster the node that owns an account's partition
// answers for it from these.
func NewAccountLimiter(cfg Config) AccountLimiter {
	cfg.setDefaults()
	b := &accountBuckets{byKind: map[string]*keyedLimiter{kindSignIn: newKeyedLimiter(cfg.AuthPerUser, cfg.AuthWindow)}}
	for kind, r := range cfg.Limits.byKind() {
		if r.N > 0 {
			b.byKind[kind] = newKeyedLimiter(r.N, r.Per)
		}
	}
	return b
}

// Take spends a token of key's bucket of kind (see AccountLimiter).
func (b *accountBuckets) Take(_ context.Context, kind string, _ uint16, key string) (bool, int, time.Duration, error) {
	l := b.byKind[kind]
	if l == nil {
		return true, math.MaxInt32, 0, nil
	}
	ok, left, wait := l.take(key, time.Now())
	return ok, left, wait, nil
}
