package cluster

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"aperture/store"
)

// Rate limits across nodes. An account's budgets (its rate of each
// action, the sign-in attempts on its username) are kept by one node:
// the owner of the partition the account's shard falls in, which counts
// them in its own token buckets. A take on any other node is a NATS
// request to that owner (the owner takes its own at once), so an account
// has one budget however many nodes its requests reach, without state in
// a bucket and at the cost of one round trip on the other nodes.
//
// When the owner does not answer within limitPatience, or no node owns
// the partition (it is moving), the take is answered by this node's own
// buckets: the limit fails open to a per-node one for that moment rather
// than refusing or holding requests up. The buckets live in memory, so a
// partition's new owner starts its accounts with full budgets.

// subjectLimit, followed by a partition, carries takes from the budgets
// of that partition's accounts to its owner.
const subjectLimit = "aperture.limit."

// limitPatience bounds the wait for the owner's answer to a take.
const limitPatience = 250 * time.Millisecond

// limitFollow is how often the node matches its subscriptions to the
// partitions it owns.
const limitFollow = 100 * time.Millisecond

// Budgets are a node's own token buckets per account (the web layer's
// AccountLimiter): Take spends one token of kind for key, whose account
// lives on shard, and reports whether it was there, the tokens left and
// how long until the next one.
type Budgets interface {
	Take(ctx context.Context, kind string, shard uint16, key string) (ok bool, left int, wait time.Duration, err error)
}

// Limits routes each take from an account's budget to the owner of the
// account's partition, and answers, from local, the takes sent to this
// node for the partitions it owns. It is itself a Budgets.
type Limits struct {
	// Patience bounds the wait for the owner's answer (limitPatience
	// when zero); tests on a slow machine give it more.
	Patience time.Duration

	p        *Partitions
	st       *store.Store
	local    Budgets
	fallback atomic.Uint64
	stop     context.CancelFunc
	done     chan struct{}
	stopped  sync.Once

	mu   sync.Mutex
	subs []*nats.Subscription // by partition, while this node owns it
}

// limitAsk is a take sent to an owner; limitAnswer its answer.
type limitAsk struct {
	Kind  string `json:"kind"`
	Shard uint16 `json:"shard"`
	Key   string `json:"key"`
}

type limitAnswer struct {
	OK   bool          `json:"ok"`
	Left int           `json:"left"`
	Wait time.Duration `json:"wait"`
}

// Limits starts routing takes from the budgets kept in local (this
// node's own) by the partitions of st, and answering those sent here,
// until Stop.
func (p *Partitions) Limits(st *store.Store, local Budgets) *Limits {
	ctx, cancel := context.WithCancel(context.Background())
	l := &Limits{p: p, st: st, local: local, stop: cancel, done: make(chan struct{}), subs: make([]*nats.Subscription, p.parts)}
	go l.follow(ctx)
	return l
}

// Take spends a token of kind for key from the budget its partition's
// owner keeps: here when this node owns it, else by a request to the
// owner; when the owner does not answer in time, or none owns it, from
// this node's own budget. It never fails.
func (l *Limits) Take(ctx context.Context, kind string, shard uint16, key string) (bool, int, time.Duration, error) {
	part := l.st.PartitionOf(shard)
	if l.p.Owns(part) {
		return l.local.Take(ctx, kind, shard, key)
	}
	body, _ := json.Marshal(limitAsk{Kind: kind, Shard: shard, Key: key})
	patience := l.Patience
	if patience <= 0 {
		patience = limitPatience
	}
	rctx, cancel := context.WithTimeout(ctx, patience)
	defer cancel()
	m, err := l.p.n.nc.RequestWithContext(rctx, subjectLimit+strconv.Itoa(part), body)
	var a limitAnswer
	if err == nil {
		err = json.Unmarshal(m.Data, &a)
	}
	if err != nil {
		l.fallback.Add(1)
		l.p.n.log.Debug("rate limit counted on this node: the partition's owner did not answer", "partition", part, "kind", kind, "error", err)
		return l.local.Take(ctx, kind, shard, key)
	}
	return a.OK, a.Left, a.Wait, nil
}

// Fallbacks returns how many takes this node answered from its own
// budget because the owner did not.
func (l *Limits) Fallbacks() uint64 { return l.fallback.Load() }

// answer takes a token for a node that asked this one as part's owner.
// A node that no longer owns part stays silent: the asker's patience
// runs out and it counts the take itself, or the new owner (also
// subscribed for a moment) answers first.
func (l *Limits) answer(part int, m *nats.Msg) {
	if !l.p.Owns(part) {
		return
	}
	var ask limitAsk
	if json.Unmarshal(m.Data, &ask) != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), limitPatience)
	defer cancel()
	var a limitAnswer
	var err error
	if a.OK, a.Left, a.Wait, err = l.local.Take(ctx, ask.Kind, ask.Shard, ask.Key); err != nil {
		return
	}
	b, _ := json.Marshal(a)
	m.Respond(b)
}

// follow keeps a subscription to the takes of each partition this node
// owns, and none to the others, until ctx ends.
func (l *Limits) follow(ctx context.Context) {
	defer close(l.done)
	t := time.NewTicker(limitFollow)
	defer t.Stop()
	for {
		l.match()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// match subscribes to the takes of the partitions this node owns and
// unsubscribes from the others.
func (l *Limits) match() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for part, sub := range l.subs {
		switch owns := l.p.Owns(part); {
		case owns && sub == nil:
			s, err := l.p.n.nc.Subscribe(subjectLimit+strconv.Itoa(part), func(m *nats.Msg) { l.answer(part, m) })
			if err != nil {
				l.p.n.log.Warn("answer rate limits", "partition", part, "error", err)
				continue
			}
			l.subs[part] = s
		case !owns && sub != nil:
			sub.Unsubscribe()
			l.subs[part] = nil
		}
	}
}

// Stop stops answering takes for other nodes; Take goes on working (it
// needs no subscription). It is safe to call more than once.
func (l *Limits) Stop() {
	l.stopped.Do(func() {
		l.stop()
		<-l.done
		l.mu.Lock()
		defer l.mu.Unlock()
		for part, sub := range l.subs {
			if sub != nil {
				sub.Unsubscribe()
				l.subs[part] = nil
			}
		}
	})
}
